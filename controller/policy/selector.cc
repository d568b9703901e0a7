#include "controller/policy/selector.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ovx::controller {
namespace {

// Same character sets as endpoint labels (registry/validate.cc), so that any
// label an endpoint can carry can be selected.
constexpr size_t kMaxLabelLength = 63;

bool IsValueChar(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}
bool IsKeyChar(char c) { return IsValueChar(c) || c == '/'; }

bool AllOf(absl::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

}  // namespace

bool Selector::Matches(
    const std::map<std::string, std::string>& endpoint_labels) const {
  if (all) return true;
  for (const auto& [key, value] : labels) {
    auto it = endpoint_labels.find(key);
    if (it == endpoint_labels.end() || it->second != value) return false;
  }
  return true;
}

std::string Selector::ToString() const {
  if (all) return "*";
  return absl::StrJoin(labels, ",", absl::PairFormatter("="));
}

absl::StatusOr<Selector> ParseSelector(absl::string_view text) {
  constexpr char kWant[] = "(want k=v[,k=v...] or *)";
  Selector selector;
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("is empty ", kWant));
  }
  if (text == "*") {
    selector.all = true;
    return selector;
  }
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item == "*") {
      return absl::InvalidArgumentError(
          absl::StrCat("mixes * with labels ", kWant));
    }
    size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", item, "\" is not key=value ", kWant));
    }
    absl::string_view key = item.substr(0, eq);
    absl::string_view value = item.substr(eq + 1);
    if (key.empty() || key.size() > kMaxLabelLength || !AllOf(key, IsKeyChar)) {
      return absl::InvalidArgumentError(
          absl::StrCat("label key \"", key,
                       "\" must be 1..63 characters of [a-zA-Z0-9._/-]"));
    }
    if (value.size() > kMaxLabelLength || !AllOf(value, IsValueChar)) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", key, "=", value,
                       ": value must be 0..63 characters of [a-zA-Z0-9._-]"));
    }
    if (!selector.labels.emplace(key, value).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("label key \"", key, "\" is repeated"));
    }
  }
  return selector;
}

}  // namespace ovx::controller
