// ovx_registry_bench: registry-side tools for the etcd benchmarks.
//
//   ovx_registry_bench fill --registry=URL --endpoints=N [--remote_nodes=K]
//       Writes a synthetic registry fast: network "scale" (VNI 100,
//       10.64.0.0/10), node "scale" (the node under test, one local endpoint
//       "local0" on --local_iface) and K remote nodes holding N endpoints
//       between them. file: one JSON document written directly (write +
//       rename); etcd: every record and index key, as the backend lays them
//       out, in plain put transactions of at most --txn_ops operations
//       (etcd's --max-txn-ops, 128 by default).
//   ovx_registry_bench propagate --registry=URL --bpffs=DIR --changes=N
//       Adds N endpoints one by one through the registry library (the
//       backend's Update, as ovxctl does without the process start) and
//       times each one until the remote node's pinned endpoints map holds
//       it, then removes them the same way. Prints JSON: p50/p99/max of
//       write (Update call), after_write (Update returned -> map) and
//       total (Update called -> map).
#include <arpa/inet.h>
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/tool_flags.h"
#include "controller/registry/backend.h"
#include "controller/registry/etcd/etcd_client.h"
#include "controller/registry/etcd/etcd_layout.h"
#include "controller/registry/record_json.h"
#include "maps/dataplane_maps.h"
#include "nlohmann/json.hpp"

DEFINE_string(registry, "", "registry URL (file:PATH or etcd://HOST:PORT,..)");
DEFINE_uint32(endpoints, 10000, "fill: remote endpoints to write");
DEFINE_uint32(remote_nodes, 100, "fill: nodes the endpoints are spread over");
DEFINE_string(local_iface, "ep0", "fill: host-side interface of local0");
DEFINE_uint32(txn_ops, 128, "fill: operations per etcd transaction");
DEFINE_string(bpffs, "", "propagate: the remote node's bpffs");
DEFINE_uint32(changes, 500, "propagate: endpoints added, then removed");
DEFINE_string(node, "r0", "propagate: node the new endpoints live on");
DEFINE_uint32(timeout_ms, 10000, "propagate: give up on one change after");

namespace ovx::bench {
namespace {

using controller::Endpoint;
using controller::Network;
using controller::Node;
using controller::RecordKind;
using controller::Snapshot;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr uint32_t kVni = 100;
constexpr char kNetwork[] = "scale";
constexpr uint32_t kBase = (10u << 24) | (64u << 16);  // 10.64.0.0/10

std::string Ip(uint32_t host_order) {
  in_addr a{.s_addr = htonl(host_order)};
  return maps::FormatIpv4(a);
}

std::string Mac(uint32_t i, uint8_t tag) {
  return absl::StrFormat("02:%02x:%02x:%02x:%02x:%02x", tag, (i >> 24) & 0xff,
                         (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

Endpoint MakeEndpoint(uint32_t i, const std::string& node, uint8_t tag) {
  Endpoint ep;
  ep.name = absl::StrCat(tag == 0 ? "ep" : "prop", i);
  ep.network = kNetwork;
  ep.node = node;
  // fill uses 10.64.0.2.., propagate 10.96.0.1..: never the same IP.
  ep.ip = Ip(kBase + (tag == 0 ? 2 + i : (32u << 16) + 1 + i));
  ep.mac = Mac(i, tag == 0 ? 0x10 : 0x20);
  return ep;
}

Snapshot Synthetic() {
  Snapshot snap;
  snap.revision = 1;
  snap.networks[kNetwork] = Network{.name = kNetwork,
                                    .vni = kVni,
                                    .subnet = "10.64.0.0/10",
                                    .gateway = "",
                                    .mtu = 0,
                                    .policy = "allow"};
  snap.nodes["scale"] = Node{.name = "scale", .vtep = "192.168.90.1"};
  const uint32_t nodes = std::max<uint32_t>(1, FLAGS_remote_nodes);
  for (uint32_t n = 0; n < nodes; ++n) {
    std::string name = absl::StrCat("r", n);
    snap.nodes[name] =
        Node{.name = name, .vtep = Ip(((172u << 24) | (16u << 16)) + 1 + n)};
  }
  Endpoint local;
  local.name = "local0";
  local.network = kNetwork;
  local.node = "scale";
  local.ip = Ip(kBase + 1);
  local.mac = "02:0f:00:00:00:01";
  local.iface = FLAGS_local_iface;
  snap.endpoints[local.name] = local;
  for (uint32_t i = 0; i < FLAGS_endpoints; ++i) {
    Endpoint ep = MakeEndpoint(i, absl::StrCat("r", i % nodes), 0);
    snap.endpoints[ep.name] = std::move(ep);
  }
  return snap;
}

absl::Status FillFile(const std::string& path, const Snapshot& snap) {
  std::string tmp = absl::StrCat(path, ".tmp.fill");
  {
    std::ofstream out(tmp);
    out << controller::SnapshotToJson(snap).dump();
    if (!out.good()) return absl::InternalError(absl::StrCat("write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return absl::InternalError(absl::StrCat("rename ", tmp, " to ", path));
  return absl::OkStatus();
}

absl::Status FillEtcd(const std::string& url, const Snapshot& snap) {
  auto members = controller::etcd::ParseEtcdUrl(url);
  if (!members.ok()) return members.status();
  controller::etcd::EtcdClientOptions options;
  options.members = *members;
  options.request_timeout = absl::Seconds(60);
  controller::etcd::EtcdClient client(options);
  std::vector<std::pair<std::string, std::string>> kvs;
  for (const auto& [name, n] : snap.networks)
    kvs.emplace_back(controller::etcd::RecordKey(RecordKind::kNetwork, name),
                     controller::ToJson(n).dump());
  for (const auto& [name, n] : snap.nodes)
    kvs.emplace_back(controller::etcd::RecordKey(RecordKind::kNode, name),
                     controller::ToJson(n).dump());
  for (const auto& [name, e] : snap.endpoints)
    kvs.emplace_back(controller::etcd::RecordKey(RecordKind::kEndpoint, name),
                     controller::ToJson(e).dump());
  auto index = controller::etcd::IndexKeys(snap, {});
  if (!index.ok()) return index.status();
  for (const auto& [key, owner] : *index) kvs.emplace_back(key, owner);
  const size_t per_txn = std::max<uint32_t>(1, FLAGS_txn_ops);
  for (size_t i = 0; i < kvs.size(); i += per_txn) {
    json success = json::array();
    for (size_t j = i; j < std::min(kvs.size(), i + per_txn); ++j) {
      success.push_back(
          {{"request_put",
            {{"key", controller::etcd::Base64(kvs[j].first)},
             {"value", controller::etcd::Base64(kvs[j].second)}}}});
    }
    auto result = client.Txn(json{{"success", std::move(success)}});
    if (!result.ok()) return result.status();
  }
  std::fprintf(stderr, "fill: %zu keys in %zu transactions\n", kvs.size(),
               (kvs.size() + per_txn - 1) / per_txn);
  return absl::OkStatus();
}

absl::Status Fill() {
  Snapshot snap = Synthetic();
  auto t0 = Clock::now();
  absl::Status s;
  if (absl::StartsWith(FLAGS_registry, "file:")) {
    s = FillFile(FLAGS_registry.substr(5), snap);
  } else if (absl::StartsWith(FLAGS_registry, "etcd://")) {
    s = FillEtcd(FLAGS_registry, snap);
  } else {
    return absl::InvalidArgumentError("--registry must be file: or etcd://");
  }
  if (!s.ok()) return s;
  std::fprintf(stderr, "fill: %zu endpoints written in %.1f s\n",
               snap.endpoints.size(),
               std::chrono::duration<double>(Clock::now() - t0).count());
  return absl::OkStatus();
}

double Pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * (v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

json Summary(const std::vector<double>& v) {
  if (v.empty()) return json{{"n", 0}};
  return {{"n", v.size()},
          {"p50_ms", Pct(v, 0.5)},
          {"p99_ms", Pct(v, 0.99)},
          {"max_ms", *std::max_element(v.begin(), v.end())}};
}

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Polls the map until (VNI, ip) is present == want; returns when it was.
absl::StatusOr<Clock::time_point> WaitFor(const maps::EndpointsMap& m,
                                          const std::string& ip, bool want) {
  auto addr = maps::ParseIpv4(ip);
  if (!addr.ok()) return addr.status();
  const auto key = maps::EndpointKey(kVni, *addr);
  const auto start = Clock::now();
  while (true) {
    auto v = m.Lookup(key);
    if (!v.ok()) return v.status();
    auto now = Clock::now();
    if (v->has_value() == want) return now;
    if (Ms(now - start) > FLAGS_timeout_ms)
      return absl::DeadlineExceededError(
          absl::StrFormat("%s %s not %s the endpoints map after %d ms",
                          want ? "added" : "removed", ip,
                          want ? "in" : "gone from", FLAGS_timeout_ms));
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

absl::StatusOr<json> Propagate() {
  auto maps = maps::DataplaneMaps::Open(FLAGS_bpffs);
  if (!maps.ok()) return maps.status();
  auto backend = controller::OpenRegistry({.url = FLAGS_registry});
  if (!backend.ok()) return backend.status();
  std::vector<double> write, after, total;
  auto one = [&](const Endpoint& ep, bool add) -> absl::Status {
    auto start = Clock::now();
    absl::Status s = (*backend)->Update([&](Snapshot& snap) {
      if (add) {
        snap.endpoints[ep.name] = ep;
      } else {
        snap.endpoints.erase(ep.name);
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    auto written = Clock::now();
    auto seen = WaitFor(maps->endpoints, ep.ip, add);
    if (!seen.ok()) return seen.status();
    write.push_back(Ms(written - start));
    after.push_back(Ms(*seen - written));
    total.push_back(Ms(*seen - start));
    return absl::OkStatus();
  };
  for (uint32_t i = 0; i < FLAGS_changes; ++i) {
    if (auto s = one(MakeEndpoint(i, FLAGS_node, 1), true); !s.ok()) return s;
  }
  for (uint32_t i = 0; i < FLAGS_changes; ++i) {
    if (auto s = one(MakeEndpoint(i, FLAGS_node, 1), false); !s.ok()) return s;
  }
  return json{{"registry", (*backend)->Describe()},
              {"changes", total.size()},
              {"write", Summary(write)},
              {"after_write", Summary(after)},
              {"total", Summary(total)}};
}

}  // namespace
}  // namespace ovx::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "ovx_registry_bench fill|propagate --registry=URL [flags]");
  ovx::bench::ParseToolFlags(&argc, &argv, __FILE__);
  std::string cmd = argc > 1 ? argv[1] : "";
  if (FLAGS_registry.empty() || (cmd != "fill" && cmd != "propagate")) {
    std::fprintf(stderr,
                 "usage: ovx_registry_bench fill|propagate --registry=URL "
                 "(see the top of bench/registry_bench_main.cc)\n");
    return 2;
  }
  if (cmd == "fill") {
    absl::Status s = ovx::bench::Fill();
    if (!s.ok()) {
      std::fprintf(stderr, "ovx_registry_bench fill: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
    return 0;
  }
  if (FLAGS_bpffs.empty()) {
    std::fprintf(stderr, "ovx_registry_bench propagate: --bpffs is required\n");
    return 2;
  }
  auto out = ovx::bench::Propagate();
  if (!out.ok()) {
    std::fprintf(stderr, "ovx_registry_bench propagate: %s\n",
                 std::string(out.status().message()).c_str());
    return 1;
  }
  std::cout << out->dump(1) << std::endl;
  return 0;
}
