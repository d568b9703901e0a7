// A policy record (registry strings) parsed into what compilation needs.
// Syntax only: whether the network exists and is a deny network is the
// registry's check (registry/validate.h, ValidatePolicy).
#ifndef OVX_CONTROLLER_POLICY_RULE_H_
#define OVX_CONTROLLER_POLICY_RULE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/policy/selector.h"
#include "controller/registry/model.h"

namespace ovx::controller {

struct Rule {
  Selector from;
  Selector to;
  uint8_t proto = 0;  // IPPROTO_TCP/UDP/ICMP; 0 = any protocol
  // Destination ports, inclusive; 0..0 = any port (and always for icmp).
  uint16_t port_first = 0;
  uint16_t port_last = 0;
  bool any_port() const { return port_first == 0; }
};

// InvalidArgument, one line naming record, flag and value:
// "policy web-db: --port=0 is out of range 1..65535".
absl::StatusOr<Rule> ParseRule(const Policy& policy);

// Stable 32-bit id of a rule name (FNV-1a), written in policy values and
// reported in drop events.
uint32_t RuleId(absl::string_view name);

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_POLICY_RULE_H_
