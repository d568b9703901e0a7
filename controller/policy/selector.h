// Label selectors of policy rules: "app=web,tier=front" (every pair must
// match, AND) or "*" (every endpoint of the network).
#ifndef OVX_CONTROLLER_POLICY_SELECTOR_H_
#define OVX_CONTROLLER_POLICY_SELECTOR_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ovx::controller {

struct Selector {
  bool all = false;                           // "*"
  std::map<std::string, std::string> labels;  // when !all; never empty

  // True when `endpoint_labels` holds every pair (extra labels are fine).
  bool Matches(const std::map<std::string, std::string>& endpoint_labels) const;
  std::string ToString() const;  // canonical: "*" or sorted "k=v,k=v"
  bool operator==(const Selector&) const = default;
};

// InvalidArgument saying what is wrong with the text, without naming the
// flag ("\"app\" is not key=value"): the caller adds record and flag. Keys
// and values follow endpoint label syntax.
absl::StatusOr<Selector> ParseSelector(absl::string_view text);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_POLICY_SELECTOR_H_
