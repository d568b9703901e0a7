// A fluent builder of test packets with correct lengths and checksums:
//
//   Bytes frame = Packet()
//       .Eth(kUnderlayMac, kRemoteMac)
//       .Ipv4(kVtep, kRemoteVtep, {.df = true})
//       .Udp(50000, 4789, {.zero_csum = true})
//       .Vxlan(100)
//       .Eth(kMacA, kMacC)
//       .Ipv4(kIpA, kIpC)
//       .IcmpEcho(1, 1)
//       .Build();
//
// Layers are serialized inside out, so every header sees its payload:
// EtherType and IP protocol follow the next layer, lengths and checksums
// are computed, unless a field is forced through the options.
#ifndef OVX_TESTS_LIB_PACKET_BUILDER_H_
#define OVX_TESTS_LIB_PACKET_BUILDER_H_

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace ovx::testing {

using Bytes = std::vector<uint8_t>;
using MacAddr = std::array<uint8_t, 6>;

// "02:00:00:00:00:01"; aborts on a typo (test constants only).
MacAddr Mac(absl::string_view text);
// "10.0.0.1" in network byte order; aborts on a typo.
in_addr Ip(absl::string_view text);

struct EthOpts {
  std::optional<uint16_t> ethertype;  // default: from the next layer
};
struct Ipv4Opts {
  uint8_t tos = 0;
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;         // in 8-byte units
  std::optional<uint8_t> proto;     // default: from the next layer
  Bytes options;                    // padded to 4 bytes; IHL follows
  std::optional<uint8_t> version;   // default 4
  std::optional<uint16_t> tot_len;  // default: computed
};
struct UdpOpts {
  bool zero_csum = false;  // VXLAN outer UDP: checksum 0
};
struct TcpOpts {
  uint8_t flags = 0x02;  // SYN
};
struct VxlanOpts {
  uint8_t flags = 0x08;  // I flag
};
struct ArpOpts {
  uint16_t op = 1;  // request
  uint16_t htype = 1;
  uint16_t ptype = 0x0800;
};

class Packet {
 public:
  Packet& Eth(const MacAddr& src, const MacAddr& dst, EthOpts opts = {});
  Packet& Ipv4(in_addr src, in_addr dst, Ipv4Opts opts = {});
  Packet& Udp(uint16_t sport, uint16_t dport, UdpOpts opts = {});
  Packet& Tcp(uint16_t sport, uint16_t dport, TcpOpts opts = {});
  Packet& IcmpEcho(uint16_t id, uint16_t seq);
  Packet& Vxlan(uint32_t vni, VxlanOpts opts = {});
  Packet& Arp(const MacAddr& sha, in_addr spa, const MacAddr& tha, in_addr tpa,
              ArpOpts opts = {});
  Packet& Payload(Bytes bytes);
  Packet& Payload(absl::string_view text);
  // Cut the finished frame to n bytes (truncated-header cases).
  Packet& Truncate(size_t n);

  Bytes Build() const;

 private:
  struct EthL {
    MacAddr src, dst;
    EthOpts opts;
  };
  struct Ipv4L {
    in_addr src, dst;
    Ipv4Opts opts;
  };
  struct UdpL {
    uint16_t sport, dport;
    UdpOpts opts;
  };
  struct TcpL {
    uint16_t sport, dport;
    TcpOpts opts;
  };
  struct IcmpL {
    uint16_t id, seq;
  };
  struct VxlanL {
    uint32_t vni;
    VxlanOpts opts;
  };
  struct ArpL {
    MacAddr sha;
    in_addr spa;
    MacAddr tha;
    in_addr tpa;
    ArpOpts opts;
  };
  struct PayloadL {
    Bytes bytes;
  };
  using Layer =
      std::variant<EthL, Ipv4L, UdpL, TcpL, IcmpL, VxlanL, ArpL, PayloadL>;

  Bytes Serialize(size_t i) const;
  const Ipv4L* EnclosingIpv4(size_t i) const;

  std::vector<Layer> layers_;
  std::optional<size_t> truncate_;
};

// Internet checksum (RFC 1071) of data, folded and complemented.
uint16_t InetChecksum(const uint8_t* data, size_t len, uint32_t seed = 0);

// "0000: 02 00 ..." lines, for failure messages.
std::string HexDump(const Bytes& bytes);
// Human diff of two frames: offsets that differ, with both values.
std::string DiffBytes(const Bytes& want, const Bytes& got);

}  // namespace ovx::testing

#endif  // OVX_TESTS_LIB_PACKET_BUILDER_H_
