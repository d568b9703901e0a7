// The reconciler's only door to the dataplane: read every managed map once,
// then put and delete single entries. The real writer goes through the
// pinned maps; tests inject a fake.
#ifndef OVX_CONTROLLER_RECONCILER_MAP_WRITER_H_
#define OVX_CONTROLLER_RECONCILER_MAP_WRITER_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/reconciler/dataplane_state.h"
#include "maps/dataplane_maps.h"

namespace ovx::controller {

class MapWriter {
 public:
  virtual ~MapWriter() = default;

  // Everything the managed maps hold now.
  virtual absl::StatusOr<DataplaneState> ReadAll() = 0;

  virtual absl::Status PutNetwork(uint32_t vni, const ovx_network& value) = 0;
  virtual absl::Status DeleteNetwork(uint32_t vni) = 0;
  virtual absl::Status PutVtep(const ovx_vtep_key& key,
                               const ovx_vtep& value) = 0;
  virtual absl::Status DeleteVtep(const ovx_vtep_key& key) = 0;
  virtual absl::Status PutVtepVni(const ovx_vtep_vni_key& key,
                                  const ovx_vtep_vni& value) = 0;
  virtual absl::Status DeleteVtepVni(const ovx_vtep_vni_key& key) = 0;
  virtual absl::Status PutInterface(uint32_t ifindex,
                                    const ovx_interface& value) = 0;
  virtual absl::Status DeleteInterface(uint32_t ifindex) = 0;
  virtual absl::Status PutEndpoint(const ovx_endpoint_key& key,
                                   const ovx_endpoint& value) = 0;
  virtual absl::Status DeleteEndpoint(const ovx_endpoint_key& key) = 0;
  virtual absl::Status PutPolicy(const ovx_policy_key& key,
                                 const ovx_policy& value) = 0;
  virtual absl::Status DeletePolicy(const ovx_policy_key& key) = 0;
  // False while the loaded programs have no policy map (older than policy):
  // the controller then leaves policy out, with one warning.
  virtual bool SupportsPolicy() { return true; }
};

// MapWriter over the maps pinned under a bpffs root.
class PinnedMapWriter : public MapWriter {
 public:
  static absl::StatusOr<std::unique_ptr<PinnedMapWriter>> Open(
      absl::string_view bpffs);

  absl::StatusOr<DataplaneState> ReadAll() override;
  absl::Status PutNetwork(uint32_t vni, const ovx_network& value) override;
  absl::Status DeleteNetwork(uint32_t vni) override;
  absl::Status PutVtep(const ovx_vtep_key& key, const ovx_vtep& value) override;
  absl::Status DeleteVtep(const ovx_vtep_key& key) override;
  absl::Status PutVtepVni(const ovx_vtep_vni_key& key,
                          const ovx_vtep_vni& value) override;
  absl::Status DeleteVtepVni(const ovx_vtep_vni_key& key) override;
  absl::Status PutInterface(uint32_t ifindex,
                            const ovx_interface& value) override;
  absl::Status DeleteInterface(uint32_t ifindex) override;
  absl::Status PutEndpoint(const ovx_endpoint_key& key,
                           const ovx_endpoint& value) override;
  absl::Status DeleteEndpoint(const ovx_endpoint_key& key) override;
  absl::Status PutPolicy(const ovx_policy_key& key,
                         const ovx_policy& value) override;
  absl::Status DeletePolicy(const ovx_policy_key& key) override;
  // Looks again when the map was missing: an upgrade may have pinned it.
  bool SupportsPolicy() override;

 private:
  PinnedMapWriter(maps::DataplaneMaps maps, std::string bpffs)
      : maps_(std::move(maps)), bpffs_(std::move(bpffs)) {}
  maps::DataplaneMaps maps_;
  std::string bpffs_;
};

}  // namespace ovx::controller

#endif  // OVX_CONTROLLER_RECONCILER_MAP_WRITER_H_
