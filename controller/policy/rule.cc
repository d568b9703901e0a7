#include "controller/policy/rule.h"

#include <netinet/in.h>

#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ovx::controller {
namespace {

absl::Status Invalid(const Policy& p, absl::string_view flag,
                     absl::string_view value, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("policy ", p.name, ": --", flag, "=", value, " ", problem));
}

// "" on success, else the problem with one port number.
std::string PortProblem(absl::string_view text, uint16_t& out) {
  uint32_t port = 0;
  if (text.empty() || text.size() > 5 || !absl::ascii_isdigit(text[0]) ||
      !absl::SimpleAtoi(text, &port)) {
    return "is not a number (want N or N-M)";
  }
  if (port < 1 || port > 65535) return "is out of range 1..65535";
  out = static_cast<uint16_t>(port);
  return "";
}

}  // namespace

absl::StatusOr<Rule> ParseRule(const Policy& p) {
  Rule rule;
  for (auto [flag, text, out] : {std::tuple("from", &p.from, &rule.from),
                                 std::tuple("to", &p.to, &rule.to)}) {
    if (text->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "policy ", p.name, ": --", flag,
          " is required (a selector such as app=web, or * for all)"));
    }
    absl::StatusOr<Selector> selector = ParseSelector(*text);
    if (!selector.ok()) {
      return Invalid(
          p, flag, *text,
          absl::StrCat("is not a selector: ", selector.status().message()));
    }
    *out = *std::move(selector);
  }

  const std::string proto = p.proto.empty() ? "any" : p.proto;
  if (proto == "tcp") {
    rule.proto = IPPROTO_TCP;
  } else if (proto == "udp") {
    rule.proto = IPPROTO_UDP;
  } else if (proto == "icmp") {
    rule.proto = IPPROTO_ICMP;
  } else if (proto != "any") {
    return Invalid(p, "proto", p.proto, "must be tcp, udp, icmp or any");
  }

  if (p.port.empty()) return rule;
  if (rule.proto != IPPROTO_TCP && rule.proto != IPPROTO_UDP) {
    return Invalid(p, "port", p.port,
                   absl::StrCat("needs --proto=tcp or --proto=udp (", proto,
                                " has no ports)"));
  }
  size_t dash = p.port.find('-');
  absl::string_view text = p.port;
  absl::string_view first = text.substr(0, dash);
  absl::string_view last =
      dash == absl::string_view::npos ? first : text.substr(dash + 1);
  for (auto [part, out] :
       {std::pair(first, &rule.port_first), std::pair(last, &rule.port_last)}) {
    if (std::string problem = PortProblem(part, *out); !problem.empty()) {
      if (part.size() == text.size()) return Invalid(p, "port", text, problem);
      return absl::InvalidArgumentError(absl::StrCat(
          "policy ", p.name, ": --port=", text, ": \"", part, "\" ", problem));
    }
  }
  if (rule.port_first > rule.port_last) {
    return Invalid(p, "port", text,
                   absl::StrCat("is an empty range: ", rule.port_first, " > ",
                                rule.port_last));
  }
  return rule;
}

uint32_t RuleId(absl::string_view name) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace ovx::controller
