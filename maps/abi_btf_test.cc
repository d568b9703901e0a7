// The BPF objects and the C++ side must agree on every map layout: for each
// map of each object, the BTF key/value types must have the size of the ABI
// type and each member the offset offsetof() gives (matched by name). Then
// bpftool must print a pinned map with named fields (needs root).
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "maps/abi/ovx_abi.h"
#include "maps/dataplane_maps.h"
#include "nlohmann/json.hpp"

namespace ovx::maps {
namespace {

struct Field {
  std::string name;
  size_t offset;
};
// An ABI type: its size and, for structs, every member.
struct TypeSpec {
  std::string name;
  size_t size;
  std::vector<Field> fields;
};

#define OVX_FIELD(type, member) \
  Field { #member, offsetof(type, member) }

const TypeSpec kU32{"__u32", sizeof(uint32_t), {}};
const TypeSpec kEndpointKey{
    "ovx_endpoint_key",
    sizeof(ovx_endpoint_key),
    {OVX_FIELD(ovx_endpoint_key, vni), OVX_FIELD(ovx_endpoint_key, family),
     OVX_FIELD(ovx_endpoint_key, pad), OVX_FIELD(ovx_endpoint_key, addr)}};
const TypeSpec kEndpoint{
    "ovx_endpoint",
    sizeof(ovx_endpoint),
    {OVX_FIELD(ovx_endpoint, flags), OVX_FIELD(ovx_endpoint, ifindex),
     OVX_FIELD(ovx_endpoint, identity), OVX_FIELD(ovx_endpoint, mac),
     OVX_FIELD(ovx_endpoint, vtep_family), OVX_FIELD(ovx_endpoint, pad),
     OVX_FIELD(ovx_endpoint, vtep)}};
const TypeSpec kInterface{
    "ovx_interface",
    sizeof(ovx_interface),
    {OVX_FIELD(ovx_interface, vni), OVX_FIELD(ovx_interface, identity),
     OVX_FIELD(ovx_interface, family), OVX_FIELD(ovx_interface, pad),
     OVX_FIELD(ovx_interface, mac), OVX_FIELD(ovx_interface, addr)}};
const TypeSpec kInterfaceSlot{
    "ovx_interface_slot",
    sizeof(ovx_interface_slot),
    {OVX_FIELD(ovx_interface_slot, seq), OVX_FIELD(ovx_interface_slot, ifindex),
     OVX_FIELD(ovx_interface_slot, iface)}};
const TypeSpec kEndpointSlot{
    "ovx_endpoint_slot",
    sizeof(ovx_endpoint_slot),
    {OVX_FIELD(ovx_endpoint_slot, seq), OVX_FIELD(ovx_endpoint_slot, tag),
     OVX_FIELD(ovx_endpoint_slot, addr), OVX_FIELD(ovx_endpoint_slot, ep)}};
const TypeSpec kVtepKey{
    "ovx_vtep_key",
    sizeof(ovx_vtep_key),
    {OVX_FIELD(ovx_vtep_key, family), OVX_FIELD(ovx_vtep_key, pad),
     OVX_FIELD(ovx_vtep_key, addr)}};
const TypeSpec kVtep{
    "ovx_vtep",
    sizeof(ovx_vtep),
    {OVX_FIELD(ovx_vtep, node_id), OVX_FIELD(ovx_vtep, flags)}};
const TypeSpec kVtepVniKey{
    "ovx_vtep_vni_key",
    sizeof(ovx_vtep_vni_key),
    {OVX_FIELD(ovx_vtep_vni_key, vni), OVX_FIELD(ovx_vtep_vni_key, family),
     OVX_FIELD(ovx_vtep_vni_key, pad), OVX_FIELD(ovx_vtep_vni_key, addr)}};
const TypeSpec kVtepVni{
    "ovx_vtep_vni", sizeof(ovx_vtep_vni), {OVX_FIELD(ovx_vtep_vni, endpoints)}};
const TypeSpec kNetwork{
    "ovx_network",
    sizeof(ovx_network),
    {OVX_FIELD(ovx_network, flags), OVX_FIELD(ovx_network, mtu),
     OVX_FIELD(ovx_network, pad), OVX_FIELD(ovx_network, reserved_0)}};
const TypeSpec kCounter{
    "ovx_counter",
    sizeof(ovx_counter),
    {OVX_FIELD(ovx_counter, packets), OVX_FIELD(ovx_counter, bytes)}};
const TypeSpec kConfig{
    "ovx_config",
    sizeof(ovx_config),
    {OVX_FIELD(ovx_config, vtep_family), OVX_FIELD(ovx_config, pad),
     OVX_FIELD(ovx_config, vtep), OVX_FIELD(ovx_config, underlay_ifindex),
     OVX_FIELD(ovx_config, vxlan_port), OVX_FIELD(ovx_config, sport_min),
     OVX_FIELD(ovx_config, sport_max), OVX_FIELD(ovx_config, pad2),
     OVX_FIELD(ovx_config, flags)}};
const TypeSpec kPolicyKey{
    "ovx_policy_key",
    sizeof(ovx_policy_key),
    {OVX_FIELD(ovx_policy_key, prefixlen), OVX_FIELD(ovx_policy_key, vni),
     OVX_FIELD(ovx_policy_key, src_identity),
     OVX_FIELD(ovx_policy_key, dst_identity), OVX_FIELD(ovx_policy_key, proto),
     OVX_FIELD(ovx_policy_key, pad), OVX_FIELD(ovx_policy_key, port)}};
const TypeSpec kPolicy{
    "ovx_policy",
    sizeof(ovx_policy),
    {OVX_FIELD(ovx_policy, flags), OVX_FIELD(ovx_policy, rule_id)}};
const TypeSpec kCtKey{
    "ovx_ct_key",
    sizeof(ovx_ct_key),
    {OVX_FIELD(ovx_ct_key, vni), OVX_FIELD(ovx_ct_key, family),
     OVX_FIELD(ovx_ct_key, proto), OVX_FIELD(ovx_ct_key, sport),
     OVX_FIELD(ovx_ct_key, dport), OVX_FIELD(ovx_ct_key, pad),
     OVX_FIELD(ovx_ct_key, saddr), OVX_FIELD(ovx_ct_key, daddr)}};
const TypeSpec kCtEntry{
    "ovx_ct_entry",
    sizeof(ovx_ct_entry),
    {OVX_FIELD(ovx_ct_entry, last_seen_ns), OVX_FIELD(ovx_ct_entry, rule_id),
     OVX_FIELD(ovx_ct_entry, flags)}};

struct MapSpec {
  bpf_map_type type;
  const TypeSpec* key;  // null: the map has no BTF key (ring buffer)
  const TypeSpec* value;
  uint32_t max_entries;
};

const std::map<std::string, MapSpec>& Expected() {
  static const auto* kMaps = new std::map<std::string, MapSpec>{
      {OVX_MAP_ENDPOINTS,
       {BPF_MAP_TYPE_HASH, &kEndpointKey, &kEndpoint, OVX_MAX_ENDPOINTS}},
      {OVX_MAP_INTERFACES,
       {BPF_MAP_TYPE_HASH, &kU32, &kInterface, OVX_MAX_INTERFACES}},
      {OVX_MAP_INTERFACE_SLOTS,
       {BPF_MAP_TYPE_ARRAY, &kU32, &kInterfaceSlot, OVX_INTERFACE_SLOTS}},
      {OVX_MAP_ENDPOINT_SLOTS,
       {BPF_MAP_TYPE_ARRAY, &kU32, &kEndpointSlot, OVX_ENDPOINT_SLOTS}},
      {OVX_MAP_VTEPS, {BPF_MAP_TYPE_HASH, &kVtepKey, &kVtep, OVX_MAX_VTEPS}},
      {OVX_MAP_VTEP_VNIS,
       {BPF_MAP_TYPE_HASH, &kVtepVniKey, &kVtepVni, OVX_MAX_VTEP_VNIS}},
      {OVX_MAP_NETWORKS,
       {BPF_MAP_TYPE_HASH, &kU32, &kNetwork, OVX_MAX_NETWORKS}},
      {OVX_MAP_COUNTERS,
       {BPF_MAP_TYPE_PERCPU_ARRAY, &kU32, &kCounter, OVX_MAX_COUNTERS}},
      {OVX_MAP_EVENTS,
       {BPF_MAP_TYPE_RINGBUF, nullptr, nullptr, OVX_EVENTS_BYTES}},
      {OVX_MAP_POLICY,
       {BPF_MAP_TYPE_LPM_TRIE, &kPolicyKey, &kPolicy, OVX_MAX_POLICY}},
      {OVX_MAP_CONNTRACK,
       {BPF_MAP_TYPE_LRU_HASH, &kCtKey, &kCtEntry, OVX_MAX_CONNTRACK}},
  };
  return *kMaps;
}

const char* const kObjects[] = {"xdp_underlay", "tc_endpoint", "tc_underlay"};

std::string ObjectPath(const char* name) {
  return absl::StrCat(OVX_BPF_DIR, "/", name, ".bpf.o");
}

using Object = std::unique_ptr<bpf_object, decltype(&bpf_object__close)>;

Object Open(const char* name) {
  bpf_object* obj = bpf_object__open_file(ObjectPath(name).c_str(), nullptr);
  if (libbpf_get_error(obj) != 0) obj = nullptr;
  return Object(obj, &bpf_object__close);
}

// Compares BTF type id with spec; failures name where.
void ExpectType(const btf* types, uint32_t id, const TypeSpec& spec,
                const std::string& where) {
  SCOPED_TRACE(absl::StrCat(where, " (", spec.name, ")"));
  ASSERT_NE(id, 0u) << "no BTF type";
  int resolved = btf__resolve_type(types, id);
  ASSERT_GT(resolved, 0);
  EXPECT_EQ(btf__resolve_size(types, resolved), static_cast<long>(spec.size));
  const btf_type* t = btf__type_by_id(types, resolved);
  if (spec.fields.empty()) {
    EXPECT_FALSE(btf_is_composite(t)) << "expected a scalar";
    return;
  }
  ASSERT_TRUE(btf_is_struct(t));
  EXPECT_EQ(btf__name_by_offset(types, t->name_off), spec.name);
  std::map<std::string, size_t> btf_offsets;
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i, ++m) {
    btf_offsets[btf__name_by_offset(types, m->name_off)] =
        btf_member_bit_offset(t, i) / 8;
  }
  EXPECT_EQ(btf_offsets.size(), spec.fields.size())
      << "the BPF side has members the ABI list here lacks, or the reverse";
  for (const Field& f : spec.fields) {
    auto it = btf_offsets.find(f.name);
    ASSERT_NE(it, btf_offsets.end()) << "no member " << f.name;
    EXPECT_EQ(it->second, f.offset) << "offset of " << f.name;
  }
}

TEST(AbiBtfTest, EveryMapOfEveryObjectMatchesTheAbi) {
  for (const char* name : kObjects) {
    SCOPED_TRACE(name);
    Object obj = Open(name);
    ASSERT_NE(obj, nullptr) << "cannot open " << ObjectPath(name);
    const btf* types = bpf_object__btf(obj.get());
    ASSERT_NE(types, nullptr);
    std::map<std::string, bool> seen;
    bpf_map* map;
    bpf_object__for_each_map(map, obj.get()) {
      std::string map_name = bpf_map__name(map);
      auto it = Expected().find(map_name);
      if (it == Expected().end()) continue;  // .rodata, .bss: below
      seen[map_name] = true;
      const MapSpec& spec = it->second;
      EXPECT_EQ(bpf_map__type(map), spec.type) << map_name;
      EXPECT_EQ(bpf_map__max_entries(map), spec.max_entries) << map_name;
      if (spec.key == nullptr) continue;
      EXPECT_EQ(bpf_map__key_size(map), spec.key->size) << map_name;
      EXPECT_EQ(bpf_map__value_size(map), spec.value->size) << map_name;
      ExpectType(types, bpf_map__btf_key_type_id(map), *spec.key,
                 map_name + " key");
      ExpectType(types, bpf_map__btf_value_type_id(map), *spec.value,
                 map_name + " value");
    }
    // Every object declares every map: they share one pinned set.
    EXPECT_EQ(seen.size(), Expected().size());
  }
}

TEST(AbiBtfTest, OvxCfgMatchesTheAbi) {
  for (const char* name : kObjects) {
    SCOPED_TRACE(name);
    Object obj = Open(name);
    ASSERT_NE(obj, nullptr);
    const btf* types = bpf_object__btf(obj.get());
    int var = btf__find_by_name_kind(types, "ovx_cfg", BTF_KIND_VAR);
    ASSERT_GT(var, 0) << "no ovx_cfg";
    ExpectType(types, btf__type_by_id(types, var)->type, kConfig, "ovx_cfg");
  }
}

// ---- bpftool prints named fields (root) -----------------------------------

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string ShOut(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(BpftoolDumpTest, PinnedMapShowsNamedFields) {
  if (geteuid() != 0) {
    if (InCi()) FAIL() << "needs root (CI=true)";
    GTEST_SKIP() << "needs root";
  }
  Object obj = Open("tc_endpoint");
  ASSERT_NE(obj, nullptr);
  bpf_map* map = bpf_object__find_map_by_name(obj.get(), OVX_MAP_ENDPOINTS);
  ASSERT_NE(map, nullptr);
  // The map as the object defines it, with its BTF, without loading programs.
  btf* types = bpf_object__btf(obj.get());
  ASSERT_EQ(btf__load_into_kernel(types), 0);
  bpf_map_create_opts opts{};
  opts.sz = sizeof(opts);
  opts.btf_fd = static_cast<uint32_t>(btf__fd(types));
  opts.btf_key_type_id = bpf_map__btf_key_type_id(map);
  opts.btf_value_type_id = bpf_map__btf_value_type_id(map);
  int fd =
      bpf_map_create(BPF_MAP_TYPE_HASH, OVX_MAP_ENDPOINTS,
                     sizeof(ovx_endpoint_key), sizeof(ovx_endpoint), 16, &opts);
  ASSERT_GE(fd, 0);
  ovx_endpoint_key key = EndpointKey(100, *ParseIpv4("10.10.0.5"));
  ovx_endpoint value = LocalEndpoint(7, *ParseMac("02:00:0a:0a:00:05"), 42);
  ASSERT_EQ(bpf_map_update_elem(fd, &key, &value, BPF_ANY), 0);

  // A private mount namespace: the bpffs goes away with the process.
  ASSERT_EQ(unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  std::string mnt = absl::StrCat("/tmp/ovx-abi-test-", getpid());
  ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
  ASSERT_EQ(mount("bpf", mnt.c_str(), "bpf", 0, nullptr), 0);
  std::string pin = absl::StrCat(mnt, "/", OVX_MAP_ENDPOINTS);
  ASSERT_EQ(bpf_obj_pin(fd, pin.c_str()), 0);
  close(fd);
  std::string dump = ShOut(absl::StrCat("bpftool -j map dump pinned ", pin));
  umount2(mnt.c_str(), MNT_DETACH);
  rmdir(mnt.c_str());

  nlohmann::json j = nlohmann::json::parse(dump, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << dump;
  const nlohmann::json& f = j[0]["formatted"];
  ASSERT_TRUE(f.is_object()) << "no BTF-formatted output: " << dump;
  EXPECT_EQ(f["key"]["vni"], 100) << dump;
  EXPECT_EQ(f["key"]["family"], OVX_AF_INET) << dump;
  EXPECT_TRUE(f["key"].contains("addr")) << dump;
  EXPECT_EQ(f["value"]["ifindex"], 7) << dump;
  EXPECT_EQ(f["value"]["identity"], 42) << dump;
  EXPECT_EQ(f["value"]["flags"], OVX_EP_F_LOCAL) << dump;
  EXPECT_EQ(f["value"]["mac"], nlohmann::json::array({2, 0, 10, 10, 0, 5}))
      << dump;
}

}  // namespace
}  // namespace ovx::maps
