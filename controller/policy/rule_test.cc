#include "controller/policy/rule.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace ovx::controller {
namespace {

Policy P(std::string proto, std::string port, std::string from = "app=web",
         std::string to = "app=db") {
  return Policy{.name = "r1",
                .network = "red",
                .from = std::move(from),
                .to = std::move(to),
                .proto = std::move(proto),
                .port = std::move(port)};
}

TEST(RuleTest, ParsesProtocolsAndPorts) {
  absl::StatusOr<Rule> any = ParseRule(P("any", ""));
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->proto, 0);
  EXPECT_TRUE(any->any_port());
  EXPECT_EQ(any->from.labels.at("app"), "web");
  EXPECT_EQ(ParseRule(P("", ""))->proto, 0);  // default: any
  EXPECT_EQ(ParseRule(P("icmp", ""))->proto, IPPROTO_ICMP);
  absl::StatusOr<Rule> tcp = ParseRule(P("tcp", ""));
  EXPECT_EQ(tcp->proto, IPPROTO_TCP);
  EXPECT_TRUE(tcp->any_port());
  absl::StatusOr<Rule> one = ParseRule(P("udp", "53"));
  EXPECT_EQ(one->proto, IPPROTO_UDP);
  EXPECT_EQ(one->port_first, 53);
  EXPECT_EQ(one->port_last, 53);
  absl::StatusOr<Rule> range = ParseRule(P("tcp", "1-65535"));
  EXPECT_EQ(range->port_first, 1);
  EXPECT_EQ(range->port_last, 65535);
  absl::StatusOr<Rule> same = ParseRule(P("tcp", "5432-5432"));
  EXPECT_EQ(same->port_first, 5432);
  EXPECT_EQ(same->port_last, 5432);
  EXPECT_TRUE(ParseRule(P("tcp", "", "*", "*"))->from.all);
}

TEST(RuleTest, RejectsWithOneLineNamingFlagAndValue) {
  const std::pair<Policy, const char*> cases[] = {
      {P("tcp", "0"), "policy r1: --port=0 is out of range 1..65535"},
      {P("tcp", "65536"), "policy r1: --port=65536 is out of range 1..65535"},
      {P("tcp", "http"),
       "policy r1: --port=http is not a number (want N or N-M)"},
      {P("tcp", "-5"),
       "policy r1: --port=-5: \"\" is not a number (want N or N-M)"},
      {P("tcp", "80-"),
       "policy r1: --port=80-: \"\" is not a number (want N or N-M)"},
      {P("tcp", "1-2-3"),
       "policy r1: --port=1-2-3: \"2-3\" is not a number (want N or N-M)"},
      {P("tcp", "80-70000"),
       "policy r1: --port=80-70000: \"70000\" is out of range 1..65535"},
      {P("tcp", "90-80"), "policy r1: --port=90-80 is an empty range: 90 > 80"},
      {P("icmp", "80"),
       "policy r1: --port=80 needs --proto=tcp or --proto=udp (icmp has no "
       "ports)"},
      {P("any", "80"),
       "policy r1: --port=80 needs --proto=tcp or --proto=udp (any has no "
       "ports)"},
      {P("", "80"),
       "policy r1: --port=80 needs --proto=tcp or --proto=udp (any has no "
       "ports)"},
      {P("sctp", ""), "policy r1: --proto=sctp must be tcp, udp, icmp or any"},
      {P("TCP", ""), "policy r1: --proto=TCP must be tcp, udp, icmp or any"},
      {P("tcp", "", "app"),
       "policy r1: --from=app is not a selector: \"app\" is not key=value "
       "(want k=v[,k=v...] or *)"},
      {P("tcp", "", "app=web", "*,x=y"),
       "policy r1: --to=*,x=y is not a selector: mixes * with labels (want "
       "k=v[,k=v...] or *)"},
      {P("tcp", "", ""),
       "policy r1: --from is required (a selector such as app=web, or * for "
       "all)"},
      {P("tcp", "", "*", ""),
       "policy r1: --to is required (a selector such as app=web, or * for "
       "all)"},
  };
  for (const auto& [policy, error] : cases) {
    absl::StatusOr<Rule> r = ParseRule(policy);
    ASSERT_FALSE(r.ok()) << error;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), error);
  }
}

TEST(RuleTest, RuleIdIsAStableHashOfTheName) {
  EXPECT_EQ(RuleId(""), 2166136261u);   // FNV-1a offset basis
  EXPECT_EQ(RuleId("a"), 0xe40c292cu);  // published FNV-1a test vector
  EXPECT_NE(RuleId("web-db"), RuleId("web-dc"));
}

}  // namespace
}  // namespace ovx::controller
