#include "loader/status_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "maps/dataplane_maps.h"

namespace ovx::loader {
namespace {

// Left-aligned columns, two spaces apart, header first.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, i == 0 ? "  " : "  ", row[i],
                      std::string(width[i] - row[i].size(), ' '));
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string Id(uint32_t id) { return id == 0 ? "-" : absl::StrCat(id); }

}  // namespace

std::string FormatStatusTable(const NodeStatus& s) {
  std::string out = absl::StrCat("bpffs: ", s.bpffs, "\n");
  if (s.attached) {
    const NodeConfig& c = s.config;
    absl::StrAppendFormat(
        &out,
        "underlay: %s (ifindex %u)  vtep: %s  vxlan port: %u  source ports: "
        "%u-%u  decap delivery: %s  ingress: %s\n",
        c.underlay_iface.empty() ? "<gone>" : c.underlay_iface,
        c.underlay_ifindex, c.vtep, c.vxlan_port, c.sport_min, c.sport_max,
        c.xdp_deliver ? "xdp" : "tc", c.tc_ingress ? "tc" : "xdp");
    absl::StrAppend(&out,
                    "underlay ipv4 gso/gro max size: ", Id(c.gso_ipv4_max_size),
                    " / ", Id(c.gro_ipv4_max_size),
                    c.gso_ipv4_max_size > 65536 || c.gro_ipv4_max_size > 65536
                        ? " (BIG TCP)\n"
                        : "\n");
  } else {
    absl::StrAppend(&out, "not attached (no program pinned)\n");
  }

  absl::StrAppend(&out, "\ninterfaces:\n");
  std::vector<std::vector<std::string>> rows = {
      {"IFACE", "IFINDEX", "HOOK", "PROGRAM", "PROG ID", "LINK ID", "MODE"}};
  for (const AttachedInterface& i : s.interfaces) {
    rows.push_back({i.iface.empty() ? "<gone>" : i.iface,
                    i.ifindex == 0 ? "gone" : absl::StrCat(i.ifindex), i.hook,
                    i.program, Id(i.prog_id),
                    i.hook == "xdp" && i.link_id != 0
                        ? absl::StrCat("dispatcher ", i.link_id)
                        : Id(i.link_id),
                    i.mode.empty() ? "-" : i.mode});
  }
  absl::StrAppend(&out, Table(rows));

  absl::StrAppend(&out, "\nmaps:\n");
  rows = {{"NAME", "ID", "TYPE", "ENTRIES", "MAX"}};
  for (const MapStatus& m : s.maps) {
    rows.push_back({m.name, Id(m.id), m.type,
                    m.entries < 0 ? "-" : absl::StrCat(m.entries),
                    absl::StrCat(m.max_entries)});
  }
  absl::StrAppend(&out, Table(rows));

  absl::StrAppend(&out, "\ncounters:\n");
  rows = {{"DIRECTION", "REASON", "KIND", "PACKETS", "BYTES"}};
  for (const CounterStatus& c : s.counters) {
    rows.push_back({c.direction, c.reason, c.drop ? "drop" : "forward",
                    absl::StrCat(c.packets), absl::StrCat(c.bytes)});
  }
  if (s.counters.empty()) rows.push_back({"(none)"});
  absl::StrAppend(&out, Table(rows));
  return out;
}

nlohmann::json StatusToJson(const NodeStatus& s) {
  nlohmann::json j;
  j["bpffs"] = s.bpffs;
  j["attached"] = s.attached;
  if (s.attached) {
    const NodeConfig& c = s.config;
    j["config"] = {{"vtep", c.vtep},
                   {"underlay_iface", c.underlay_iface},
                   {"underlay_ifindex", c.underlay_ifindex},
                   {"vxlan_port", c.vxlan_port},
                   {"sport_min", c.sport_min},
                   {"sport_max", c.sport_max},
                   {"decap_delivery", c.xdp_deliver ? "xdp" : "tc"},
                   {"ingress", c.tc_ingress ? "tc" : "xdp"},
                   {"gso_ipv4_max_size", c.gso_ipv4_max_size},
                   {"gro_ipv4_max_size", c.gro_ipv4_max_size}};
  }
  j["interfaces"] = nlohmann::json::array();
  for (const AttachedInterface& i : s.interfaces) {
    nlohmann::json row = {{"iface", i.iface},
                          {"ifindex", i.ifindex},
                          {"hook", i.hook},
                          {"program", i.program},
                          {"prog_id", i.prog_id}};
    if (i.hook == "xdp") {
      row["dispatcher_id"] = i.link_id;
      row["mode"] = i.mode;
    } else {
      row["link_id"] = i.link_id;
    }
    j["interfaces"].push_back(row);
  }
  j["maps"] = nlohmann::json::array();
  for (const MapStatus& m : s.maps) {
    nlohmann::json row = {{"name", m.name},
                          {"id", m.id},
                          {"type", m.type},
                          {"max_entries", m.max_entries}};
    row["entries"] =
        m.entries < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.entries);
    j["maps"].push_back(row);
  }
  j["counters"] = nlohmann::json::array();
  for (const CounterStatus& c : s.counters) {
    j["counters"].push_back({{"direction", c.direction},
                             {"reason", c.reason},
                             {"drop", c.drop},
                             {"packets", c.packets},
                             {"bytes", c.bytes}});
  }
  return j;
}

namespace {

std::string Addr(const __be32* addr, uint8_t family) {
  if (family != OVX_AF_INET) return "-";
  return maps::FormatIpv4(in_addr{addr[0]});
}

}  // namespace

std::string FormatDropEvent(const ovx_drop_event& e) {
  std::string line = absl::StrFormat(
      "%llu.%09llu %s %s ifindex %u", e.timestamp_ns / 1000000000ULL,
      e.timestamp_ns % 1000000000ULL, maps::DirectionName(e.dir),
      maps::ReasonName(e.reason), e.ifindex);
  if (e.vni != 0) absl::StrAppend(&line, " vni ", e.vni);
  if (e.family == OVX_AF_INET) {
    absl::StrAppend(&line, " ", Addr(e.saddr, e.family), " -> ",
                    Addr(e.daddr, e.family), " proto ", e.proto);
    if (e.dport != 0) absl::StrAppend(&line, " dport ", ntohs(e.dport));
  }
  if (e.src_identity != 0 || e.dst_identity != 0) {
    absl::StrAppend(&line, " identity ", e.src_identity, " -> ",
                    e.dst_identity);
  }
  return line;
}

nlohmann::json DropEventToJson(const ovx_drop_event& e) {
  return {{"timestamp_ns", e.timestamp_ns},
          {"direction", maps::DirectionName(e.dir)},
          {"reason", maps::ReasonName(e.reason)},
          {"ifindex", e.ifindex},
          {"vni", e.vni},
          {"src", Addr(e.saddr, e.family)},
          {"dst", Addr(e.daddr, e.family)},
          {"proto", e.proto},
          {"sport", ntohs(e.sport)},
          {"dport", ntohs(e.dport)},
          {"src_identity", e.src_identity},
          {"dst_identity", e.dst_identity}};
}

}  // namespace ovx::loader
