#include "tests/bpf/packet_test.h"

namespace ovx::testing {

uint32_t Resolve(Iface iface) {
  const World& w = TheWorld();
  switch (iface) {
    case Iface::kNone:
      return 0;
    case Iface::kHostA:
      return w.host_a;
    case Iface::kHostB:
      return w.host_b;
    case Iface::kHostR:
      return w.host_r;
    case Iface::kUnderlay:
      return w.underlay;
  }
  return 0;
}

}  // namespace ovx::testing
