#include "controller/reconciler/map_writer.h"

#include <utility>

namespace ovx::controller {
namespace {

template <typename M, typename K, typename V>
absl::Status DumpInto(const M& map, Table<K, V>& table) {
  auto entries = map.Dump();
  if (!entries.ok()) return entries.status();
  for (const auto& [key, value] : *entries) table[key] = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PinnedMapWriter>> PinnedMapWriter::Open(
    absl::string_view bpffs) {
  auto maps = maps::DataplaneMaps::Open(bpffs);
  if (!maps.ok()) return maps.status();
  if (absl::Status s = maps->interfaces.RebuildSlots(); !s.ok()) return s;
  if (absl::Status s = maps->endpoints.RebuildSlots(); !s.ok()) return s;
  // Older programs may still read it; nothing fills it now.
  if (absl::Status s = maps::EmptyOldEndpointSlots(bpffs); !s.ok()) return s;
  return std::unique_ptr<PinnedMapWriter>(
      new PinnedMapWriter(*std::move(maps), std::string(bpffs)));
}

absl::StatusOr<DataplaneState> PinnedMapWriter::ReadAll() {
  DataplaneState state;
  for (absl::Status status : {DumpInto(maps_.networks, state.networks),
                              DumpInto(maps_.vteps, state.vteps),
                              DumpInto(maps_.vtep_vnis, state.vtep_vnis),
                              DumpInto(maps_.interfaces, state.interfaces),
                              DumpInto(maps_.endpoints, state.endpoints)}) {
    if (!status.ok()) return status;
  }
  if (maps_.policy.has_value()) {
    if (absl::Status s = DumpInto(*maps_.policy, state.policy); !s.ok()) {
      return s;
    }
  }
  return state;
}

absl::Status PinnedMapWriter::PutNetwork(uint32_t vni,
                                         const ovx_network& value) {
  return maps_.networks.Update(vni, value);
}
absl::Status PinnedMapWriter::DeleteNetwork(uint32_t vni) {
  return maps_.networks.Delete(vni);
}
absl::Status PinnedMapWriter::PutVtep(const ovx_vtep_key& key,
                                      const ovx_vtep& value) {
  return maps_.vteps.Update(key, value);
}
absl::Status PinnedMapWriter::DeleteVtep(const ovx_vtep_key& key) {
  return maps_.vteps.Delete(key);
}
absl::Status PinnedMapWriter::PutVtepVni(const ovx_vtep_vni_key& key,
                                         const ovx_vtep_vni& value) {
  return maps_.vtep_vnis.Update(key, value);
}
absl::Status PinnedMapWriter::DeleteVtepVni(const ovx_vtep_vni_key& key) {
  return maps_.vtep_vnis.Delete(key);
}
absl::Status PinnedMapWriter::PutInterface(uint32_t ifindex,
                                           const ovx_interface& value) {
  return maps_.interfaces.Update(ifindex, value);
}
absl::Status PinnedMapWriter::DeleteInterface(uint32_t ifindex) {
  return maps_.interfaces.Delete(ifindex);
}
absl::Status PinnedMapWriter::PutEndpoint(const ovx_endpoint_key& key,
                                          const ovx_endpoint& value) {
  return maps_.endpoints.Update(key, value);
}
absl::Status PinnedMapWriter::DeleteEndpoint(const ovx_endpoint_key& key) {
  return maps_.endpoints.Delete(key);
}
absl::Status PinnedMapWriter::PutPolicy(const ovx_policy_key& key,
                                        const ovx_policy& value) {
  if (!SupportsPolicy()) {
    return absl::FailedPreconditionError("no policy map pinned");
  }
  return maps_.policy->Update(key, value);
}
absl::Status PinnedMapWriter::DeletePolicy(const ovx_policy_key& key) {
  if (!SupportsPolicy()) return absl::OkStatus();  // nothing to delete from
  return maps_.policy->Delete(key);
}
bool PinnedMapWriter::SupportsPolicy() {
  if (maps_.policy.has_value()) return true;
  auto policy = maps::OpenPolicyMap(bpffs_);
  if (!policy.ok() || !policy->has_value()) return false;
  maps_.policy = *std::move(policy);
  return true;
}

}  // namespace ovx::controller
