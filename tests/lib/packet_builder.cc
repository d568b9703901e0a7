#include "tests/lib/packet_builder.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ovx::testing {
namespace {

void Put16(Bytes& out, uint16_t v) {
  out.push_back(v >> 8);
  out.push_back(v & 0xff);
}
void Put32(Bytes& out, uint32_t v) {
  Put16(out, v >> 16);
  Put16(out, v & 0xffff);
}
void PutAddr(Bytes& out, in_addr a) {
  const auto* p = reinterpret_cast<const uint8_t*>(&a.s_addr);
  out.insert(out.end(), p, p + 4);
}
void Set16(Bytes& out, size_t off, uint16_t v) {
  out[off] = v >> 8;
  out[off + 1] = v & 0xff;
}

}  // namespace

MacAddr Mac(absl::string_view text) {
  MacAddr mac{};
  unsigned v[6];
  std::string s(text);
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3],
                  &v[4], &v[5]) != 6) {
    std::fprintf(stderr, "bad MAC constant %s\n", s.c_str());
    std::abort();
  }
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return mac;
}

in_addr Ip(absl::string_view text) {
  in_addr a{};
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
    std::fprintf(stderr, "bad IPv4 constant %s\n", s.c_str());
    std::abort();
  }
  return a;
}

uint16_t InetChecksum(const uint8_t* data, size_t len, uint32_t seed) {
  uint32_t sum = seed;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Packet& Packet::Eth(const MacAddr& src, const MacAddr& dst, EthOpts opts) {
  layers_.push_back(EthL{src, dst, opts});
  return *this;
}
Packet& Packet::Ipv4(in_addr src, in_addr dst, Ipv4Opts opts) {
  layers_.push_back(Ipv4L{src, dst, std::move(opts)});
  return *this;
}
Packet& Packet::Udp(uint16_t sport, uint16_t dport, UdpOpts opts) {
  layers_.push_back(UdpL{sport, dport, opts});
  return *this;
}
Packet& Packet::Tcp(uint16_t sport, uint16_t dport, TcpOpts opts) {
  layers_.push_back(TcpL{sport, dport, opts});
  return *this;
}
Packet& Packet::IcmpEcho(uint16_t id, uint16_t seq) {
  layers_.push_back(IcmpL{id, seq});
  return *this;
}
Packet& Packet::Vxlan(uint32_t vni, VxlanOpts opts) {
  layers_.push_back(VxlanL{vni, opts});
  return *this;
}
Packet& Packet::Arp(const MacAddr& sha, in_addr spa, const MacAddr& tha,
                    in_addr tpa, ArpOpts opts) {
  layers_.push_back(ArpL{sha, spa, tha, tpa, opts});
  return *this;
}
Packet& Packet::Payload(Bytes bytes) {
  layers_.push_back(PayloadL{std::move(bytes)});
  return *this;
}
Packet& Packet::Payload(absl::string_view text) {
  return Payload(Bytes(text.begin(), text.end()));
}
Packet& Packet::Truncate(size_t n) {
  truncate_ = n;
  return *this;
}

Bytes Packet::Build() const {
  Bytes out = Serialize(0);
  if (truncate_ && *truncate_ < out.size()) out.resize(*truncate_);
  return out;
}

const Packet::Ipv4L* Packet::EnclosingIpv4(size_t i) const {
  for (size_t j = i; j-- > 0;) {
    if (const auto* ip = std::get_if<Ipv4L>(&layers_[j])) return ip;
  }
  return nullptr;
}

Bytes Packet::Serialize(size_t i) const {
  if (i >= layers_.size()) return {};
  Bytes inner = Serialize(i + 1);
  const Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
  Bytes out;

  if (const auto* l = std::get_if<EthL>(&layers_[i])) {
    uint16_t type = 0x0800;
    if (next && std::holds_alternative<ArpL>(*next)) type = 0x0806;
    if (l->opts.ethertype) type = *l->opts.ethertype;
    out.insert(out.end(), l->dst.begin(), l->dst.end());
    out.insert(out.end(), l->src.begin(), l->src.end());
    Put16(out, type);
  } else if (const auto* l = std::get_if<Ipv4L>(&layers_[i])) {
    Bytes opts = l->opts.options;
    while (opts.size() % 4) opts.push_back(0);
    uint8_t ihl = static_cast<uint8_t>(5 + opts.size() / 4);
    uint8_t proto = 0;
    if (next && std::holds_alternative<UdpL>(*next)) proto = IPPROTO_UDP;
    if (next && std::holds_alternative<TcpL>(*next)) proto = IPPROTO_TCP;
    if (next && std::holds_alternative<IcmpL>(*next)) proto = IPPROTO_ICMP;
    if (l->opts.proto) proto = *l->opts.proto;
    uint16_t frag = l->opts.frag_offset & 0x1fff;
    if (l->opts.df) frag |= 0x4000;
    if (l->opts.mf) frag |= 0x2000;
    out.push_back(
        static_cast<uint8_t>((l->opts.version.value_or(4) << 4) | ihl));
    out.push_back(l->opts.tos);
    Put16(out, l->opts.tot_len.value_or(
                   static_cast<uint16_t>(ihl * 4 + inner.size())));
    Put16(out, l->opts.id);
    Put16(out, frag);
    out.push_back(l->opts.ttl);
    out.push_back(proto);
    Put16(out, 0);
    PutAddr(out, l->src);
    PutAddr(out, l->dst);
    out.insert(out.end(), opts.begin(), opts.end());
    Set16(out, 10, InetChecksum(out.data(), out.size()));
  } else if (const auto* l = std::get_if<UdpL>(&layers_[i])) {
    uint16_t len = static_cast<uint16_t>(8 + inner.size());
    Put16(out, l->sport);
    Put16(out, l->dport);
    Put16(out, len);
    Put16(out, 0);
    const Ipv4L* ip = EnclosingIpv4(i);
    if (!l->opts.zero_csum && ip) {
      Bytes pseudo;
      PutAddr(pseudo, ip->src);
      PutAddr(pseudo, ip->dst);
      Put16(pseudo, IPPROTO_UDP);
      Put16(pseudo, len);
      pseudo.insert(pseudo.end(), out.begin(), out.end());
      pseudo.insert(pseudo.end(), inner.begin(), inner.end());
      uint16_t sum = InetChecksum(pseudo.data(), pseudo.size());
      Set16(out, 6, sum == 0 ? 0xffff : sum);
    }
  } else if (const auto* l = std::get_if<TcpL>(&layers_[i])) {
    Put16(out, l->sport);
    Put16(out, l->dport);
    Put32(out, 1);                       // seq
    Put32(out, 0);                       // ack
    Put16(out, 0x5000 | l->opts.flags);  // data offset 5
    Put16(out, 65535);                   // window
    Put16(out, 0);                       // checksum
    Put16(out, 0);                       // urgent
    const Ipv4L* ip = EnclosingIpv4(i);
    if (ip) {
      Bytes pseudo;
      PutAddr(pseudo, ip->src);
      PutAddr(pseudo, ip->dst);
      Put16(pseudo, IPPROTO_TCP);
      Put16(pseudo, static_cast<uint16_t>(out.size() + inner.size()));
      pseudo.insert(pseudo.end(), out.begin(), out.end());
      pseudo.insert(pseudo.end(), inner.begin(), inner.end());
      Set16(out, 16, InetChecksum(pseudo.data(), pseudo.size()));
    }
  } else if (const auto* l = std::get_if<IcmpL>(&layers_[i])) {
    out.push_back(8);  // echo request
    out.push_back(0);
    Put16(out, 0);
    Put16(out, l->id);
    Put16(out, l->seq);
    Bytes all = out;
    all.insert(all.end(), inner.begin(), inner.end());
    Set16(out, 2, InetChecksum(all.data(), all.size()));
  } else if (const auto* l = std::get_if<VxlanL>(&layers_[i])) {
    Put32(out, static_cast<uint32_t>(l->opts.flags) << 24);
    Put32(out, l->vni << 8);
  } else if (const auto* l = std::get_if<ArpL>(&layers_[i])) {
    Put16(out, l->opts.htype);
    Put16(out, l->opts.ptype);
    out.push_back(6);
    out.push_back(4);
    Put16(out, l->opts.op);
    out.insert(out.end(), l->sha.begin(), l->sha.end());
    PutAddr(out, l->spa);
    out.insert(out.end(), l->tha.begin(), l->tha.end());
    PutAddr(out, l->tpa);
  } else if (const auto* l = std::get_if<PayloadL>(&layers_[i])) {
    out = l->bytes;
  }
  out.insert(out.end(), inner.begin(), inner.end());
  return out;
}

std::string HexDump(const Bytes& bytes) {
  std::string s;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i % 16 == 0)
      absl::StrAppend(&s, i ? "\n" : "", absl::StrFormat("%04x:", i));
    absl::StrAppend(&s, absl::StrFormat(" %02x", bytes[i]));
  }
  return s;
}

std::string DiffBytes(const Bytes& want, const Bytes& got) {
  std::string s;
  if (want.size() != got.size()) {
    absl::StrAppend(&s, "length: want ", want.size(), " got ", got.size(),
                    "\n");
  }
  size_t n = std::min(want.size(), got.size());
  int shown = 0;
  for (size_t i = 0; i < n && shown < 32; ++i) {
    if (want[i] != got[i]) {
      absl::StrAppend(
          &s, absl::StrFormat("  @%d (0x%04x): want %02x got %02x\n", i, i,
                              want[i], got[i]));
      ++shown;
    }
  }
  absl::StrAppend(&s, "want:\n", HexDump(want), "\ngot:\n", HexDump(got));
  return s;
}

}  // namespace ovx::testing
