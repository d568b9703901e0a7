#include "controller/policy/selector.h"

#include <gtest/gtest.h>

namespace ovx::controller {
namespace {

using Labels = std::map<std::string, std::string>;

TEST(SelectorTest, ParsesLabelsAndStar) {
  absl::StatusOr<Selector> s = ParseSelector("tier=front,app=web");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->all);
  EXPECT_EQ(s->labels, (Labels{{"app", "web"}, {"tier", "front"}}));
  EXPECT_EQ(s->ToString(), "app=web,tier=front");

  absl::StatusOr<Selector> all = ParseSelector("*");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->all);
  EXPECT_EQ(all->ToString(), "*");

  absl::StatusOr<Selector> empty_value = ParseSelector("k8s.io/role=");
  ASSERT_TRUE(empty_value.ok()) << empty_value.status();
  EXPECT_EQ(empty_value->labels, (Labels{{"k8s.io/role", ""}}));
}

TEST(SelectorTest, RejectsBadSyntax) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "is empty (want k=v[,k=v...] or *)"},
      {"app", "\"app\" is not key=value (want k=v[,k=v...] or *)"},
      {"app=web,", "\"\" is not key=value (want k=v[,k=v...] or *)"},
      {"*,app=web", "mixes * with labels (want k=v[,k=v...] or *)"},
      {"=web", "label key \"\" must be 1..63 characters of [a-zA-Z0-9._/-]"},
      {"a b=c",
       "label key \"a b\" must be 1..63 characters of [a-zA-Z0-9._/-]"},
      {"app=w*b",
       "label app=w*b: value must be 0..63 characters of "
       "[a-zA-Z0-9._-]"},
      {"app=a,app=b", "label key \"app\" is repeated"},
  };
  for (const auto& [text, error] : cases) {
    absl::StatusOr<Selector> s = ParseSelector(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), error) << text;
  }
  EXPECT_FALSE(ParseSelector(std::string(64, 'k') + "=v").ok());
  EXPECT_TRUE(ParseSelector(std::string(63, 'k') + "=v").ok());
}

TEST(SelectorTest, MatchesWhenEveryPairIsPresent) {
  Selector web = *ParseSelector("app=web");
  Selector web_front = *ParseSelector("app=web,tier=front");
  Selector all = *ParseSelector("*");
  const Labels web_front_labels = {{"app", "web"}, {"tier", "front"}};
  const Labels web_back_labels = {{"app", "web"}, {"tier", "back"}};
  EXPECT_TRUE(web.Matches(web_front_labels));
  EXPECT_TRUE(web.Matches(web_back_labels));
  EXPECT_TRUE(web_front.Matches(web_front_labels));
  EXPECT_FALSE(web_front.Matches(web_back_labels));
  EXPECT_FALSE(web_front.Matches({{"app", "web"}}));
  EXPECT_FALSE(web.Matches({}));
  EXPECT_FALSE(web.Matches({{"app", "webx"}}));
  EXPECT_FALSE(web.Matches({{"App", "web"}}));
  EXPECT_TRUE(all.Matches({}));
  EXPECT_TRUE(all.Matches(web_back_labels));
  // An empty value selects the key with an empty value, not any value.
  Selector role_empty = *ParseSelector("role=");
  EXPECT_TRUE(role_empty.Matches({{"role", ""}}));
  EXPECT_FALSE(role_empty.Matches({{"role", "x"}}));
}

}  // namespace
}  // namespace ovx::controller
