#include "tests/bpf/packet_test.h"

#include <cstring>

namespace ovx::testing {

uint16_t FlowSport(in_addr saddr, in_addr daddr, uint8_t proto, uint16_t sport,
                   uint16_t dport, uint16_t min, uint16_t max) {
  // Ports as the program loads them: the 4 wire bytes as a host u32.
  uint8_t wire[4] = {
      static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
      static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport)};
  uint32_t ports;
  std::memcpy(&ports, wire, 4);
  uint32_t h = saddr.s_addr * 0x9e3779b1U;
  h = (h ^ daddr.s_addr) * 0x85ebca6bU;
  h = (h ^ ports ^ proto) * 0xc2b2ae35U;
  h ^= h >> 16;
  if (max <= min) return min;
  return static_cast<uint16_t>(
      min + ((static_cast<uint64_t>(h) * (max - min + 1)) >> 32));
}

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
