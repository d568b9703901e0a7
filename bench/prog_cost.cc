#include "bench/prog_cost.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/coarse_clock.h"
#include "controller/policy/compile.h"
#include "controller/registry/validate.h"
#include "loader/kernel.h"
#include "maps/dataplane_maps.h"
#include "maps/fd.h"
#include "tc_endpoint.skel.h"
#include "tc_underlay.skel.h"
#include "xdp_underlay.skel.h"

namespace ovx::bench {
namespace {

using maps::UniqueFd;

constexpr uint32_t kVni = 100;
constexpr maps::Mac kMacC1 = {0x02, 0x0b, 0, 0, 0, 0x01};
constexpr maps::Mac kMacC2 = {0x02, 0x0b, 0, 0, 0, 0x02};
constexpr maps::Mac kMacC3 = {0x02, 0x0b, 0, 0, 0, 0x03};
constexpr maps::Mac kMacUl1 = {0x02, 0x0c, 0, 0, 0, 0x01};
constexpr maps::Mac kMacUl2 = {0x02, 0x0c, 0, 0, 0, 0x02};
constexpr char kIpC1[] = "10.40.0.1";
constexpr char kIpC2[] = "10.40.0.2";
constexpr char kIpC3[] = "10.40.0.3";
constexpr uint32_t kFillerBase = 0x0a400000;  // 10.64.0.0, host order

absl::Status Errno(int err, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

in_addr Ip(absl::string_view text) { return *maps::ParseIpv4(text); }

// ---- packets ----------------------------------------------------------------

using Bytes = std::vector<uint8_t>;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void PutMac(Bytes& b, const maps::Mac& m) {
  b.insert(b.end(), m.begin(), m.end());
}
void PutIp(Bytes& b, in_addr a) {
  const auto* p = reinterpret_cast<const uint8_t*>(&a.s_addr);
  b.insert(b.end(), p, p + 4);
}

uint16_t Checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void Eth(Bytes& b, const maps::Mac& dst, const maps::Mac& src, uint16_t proto) {
  PutMac(b, dst);
  PutMac(b, src);
  Put16(b, proto);
}

// An IPv4 header (DF, no options) for l4_len bytes of proto appended to b.
void Ipv4(Bytes& b, in_addr src, in_addr dst, uint8_t proto, uint16_t l4_len) {
  size_t ip_off = b.size();
  b.push_back(0x45);
  b.push_back(0);
  Put16(b, 20 + l4_len);
  Put16(b, 0x1234);  // id
  Put16(b, 0x4000);  // DF
  b.push_back(64);
  b.push_back(proto);
  Put16(b, 0);
  PutIp(b, src);
  PutIp(b, dst);
  uint16_t csum = Checksum(b.data() + ip_off, 20);
  b[ip_off + 10] = csum >> 8;
  b[ip_off + 11] = csum & 0xff;
}

// IPv4 + UDP header + payload appended to b; UDP checksum left 0.
void Ipv4Udp(Bytes& b, in_addr src, in_addr dst, uint16_t sport, uint16_t dport,
             const Bytes& payload) {
  uint16_t udp_len = 8 + payload.size();
  Ipv4(b, src, dst, IPPROTO_UDP, udp_len);
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, udp_len);
  Put16(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
}

// IPv4 + a 20-byte TCP header (ACK|PSH) + payload appended to b. The
// programs read neither sequence numbers nor the TCP checksum (left 0).
void Ipv4Tcp(Bytes& b, in_addr src, in_addr dst, uint16_t sport, uint16_t dport,
             const Bytes& payload) {
  Ipv4(b, src, dst, IPPROTO_TCP, 20 + payload.size());
  Put16(b, sport);
  Put16(b, dport);
  b.insert(b.end(), {0, 0, 0, 1, 0, 0, 0, 1});  // seq, ack
  b.push_back(5 << 4);                          // data offset
  b.push_back(0x18);                            // ACK|PSH
  Put16(b, 65535);                              // window
  Put16(b, 0);                                  // checksum
  Put16(b, 0);                                  // urgent pointer
  b.insert(b.end(), payload.begin(), payload.end());
}

// A 64-byte container frame (UDP, 22 bytes of payload).
constexpr uint16_t kInnerDport = 5001;

Bytes InnerFrame(const maps::Mac& dmac, const maps::Mac& smac,
                 absl::string_view src, absl::string_view dst,
                 uint16_t dport = kInnerDport) {
  Bytes b;
  Eth(b, dmac, smac, ETH_P_IP);
  Ipv4Udp(b, Ip(src), Ip(dst), 40000, dport, Bytes(22, 0xab));
  return b;
}

// The same 64 bytes with TCP (10 of payload): tc_endpoint grows it with
// bpf_skb_adjust_room and the tunnel's GSO marks, as every TCP segment.
Bytes InnerTcpFrame(const maps::Mac& dmac, const maps::Mac& smac,
                    absl::string_view src, absl::string_view dst) {
  Bytes b;
  Eth(b, dmac, smac, ETH_P_IP);
  Ipv4Tcp(b, Ip(src), Ip(dst), 40000, kInnerDport, Bytes(10, 0xab));
  return b;
}

Bytes VxlanFrame(absl::string_view outer_src, absl::string_view outer_dst,
                 uint32_t vni, const Bytes& inner) {
  Bytes vx;
  vx.push_back(0x08);  // I flag
  vx.insert(vx.end(), 3, 0);
  vx.push_back((vni >> 16) & 0xff);
  vx.push_back((vni >> 8) & 0xff);
  vx.push_back(vni & 0xff);
  vx.push_back(0);
  vx.insert(vx.end(), inner.begin(), inner.end());
  Bytes b;
  Eth(b, kMacUl1, kMacUl2, ETH_P_IP);
  Ipv4Udp(b, Ip(outer_src), Ip(outer_dst), 50000, OVX_VXLAN_PORT_DEFAULT, vx);
  return b;
}

Bytes ArpRequest(const maps::Mac& smac, absl::string_view sip,
                 absl::string_view tip) {
  Bytes b;
  Eth(b, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, smac, ETH_P_ARP);
  Put16(b, 1);  // Ethernet
  Put16(b, ETH_P_IP);
  b.push_back(6);
  b.push_back(4);
  Put16(b, 1);  // request
  PutMac(b, smac);
  PutIp(b, Ip(sip));
  PutMac(b, {0, 0, 0, 0, 0, 0});
  PutIp(b, Ip(tip));
  b.resize(60, 0);
  return b;
}

// ---- programs
// -----------------------------------------------------------------

struct XdpSkelDeleter {
  void operator()(xdp_underlay* s) const { xdp_underlay__destroy(s); }
};
struct TcSkelDeleter {
  void operator()(tc_endpoint* s) const { tc_endpoint__destroy(s); }
};
struct TcUnderlaySkelDeleter {
  void operator()(tc_underlay* s) const { tc_underlay__destroy(s); }
};

ovx_config Config(const ProgCostOptions& o, uint32_t underlay_ifindex,
                  uint32_t flags) {
  ovx_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.vtep_family = OVX_AF_INET;
  cfg.vtep[0] = Ip(o.local_vtep).s_addr;
  cfg.underlay_ifindex = underlay_ifindex;
  cfg.vxlan_port = OVX_VXLAN_PORT_DEFAULT;
  cfg.sport_min = OVX_SPORT_MIN_DEFAULT;
  cfg.sport_max = OVX_SPORT_MAX_DEFAULT;
  cfg.flags = flags;
  return cfg;
}

// Opens one of the skeletons with maps pinned under o.bpffs, sets its
// ovx_cfg and loads it.
template <typename Skel, typename Deleter>
absl::StatusOr<std::unique_ptr<Skel, Deleter>> LoadSkel(
    const ProgCostOptions& o, const ovx_config& cfg, absl::string_view name,
    Skel* (*open)(const bpf_object_open_opts*), int (*load)(Skel*)) {
  LIBBPF_OPTS(bpf_object_open_opts, open_opts,
              .pin_root_path = o.bpffs.c_str());
  std::unique_ptr<Skel, Deleter> skel(open(&open_opts));
  if (!skel) return Errno(errno, absl::StrCat("open ", name));
  skel->rodata->ovx_cfg = cfg;
  if (int err = load(skel.get()); err)
    return Errno(-err, absl::StrCat("load ", name));
  return skel;
}

absl::StatusOr<std::unique_ptr<xdp_underlay, XdpSkelDeleter>> LoadXdp(
    const ProgCostOptions& o, const ovx_config& cfg) {
  return LoadSkel<xdp_underlay, XdpSkelDeleter>(
      o, cfg, "xdp_underlay", xdp_underlay__open_opts, xdp_underlay__load);
}

// tc_underlay as --ingress=tc runs it: checks, decapsulation, delivery.
absl::StatusOr<std::unique_ptr<tc_underlay, TcUnderlaySkelDeleter>>
LoadTcIngress(const ProgCostOptions& o, const ovx_config& cfg) {
  return LoadSkel<tc_underlay, TcUnderlaySkelDeleter>(
      o, cfg, "tc_underlay", tc_underlay__open_opts, tc_underlay__load);
}

absl::StatusOr<std::unique_ptr<tc_endpoint, TcSkelDeleter>> LoadTc(
    const ProgCostOptions& o, const ovx_config& cfg) {
  return LoadSkel<tc_endpoint, TcSkelDeleter>(
      o, cfg, "tc_endpoint", tc_endpoint__open_opts, tc_endpoint__load);
}

// One BPF instruction, as the hand-built programs below write them.
bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
              int32_t imm) {
  return {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// reg = imm.
bpf_insn MovImm(uint8_t reg, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, reg, 0, 0, imm);
}

bpf_insn SetR0(int32_t imm) { return MovImm(BPF_REG_0, imm); }

// The empty program each measurement is corrected by: r0 = verdict; exit.
absl::StatusOr<UniqueFd> LoadTrivial(bpf_prog_type type, int32_t verdict) {
  const bpf_insn insns[] = {SetR0(verdict), Exit()};
  int fd = bpf_prog_load(type, "ovx_bench_nop", "GPL", insns, 2, nullptr);
  if (fd < 0) return Errno(errno, "load trivial program");
  return UniqueFd(fd);
}

// ---- what a call costs on this machine ------------------------------------

constexpr int kCalls = 4;

bpf_insn Call(uint8_t src, int32_t imm) {
  return Insn(BPF_JMP | BPF_CALL, 0, src, 0, imm);
}

absl::StatusOr<UniqueFd> LoadInsns(bpf_prog_type type,
                                   const std::vector<bpf_insn>& insns,
                                   const char* name) {
  int fd =
      bpf_prog_load(type, name, "GPL", insns.data(), insns.size(), nullptr);
  if (fd < 0) return Errno(errno, absl::StrCat("load ", name));
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> LoadTcInsns(const std::vector<bpf_insn>& insns,
                                     const char* name) {
  return LoadInsns(BPF_PROG_TYPE_SCHED_CLS, insns, name);
}

// r0 = TC_ACT_OK; exit, after kCalls helper calls (bpf_get_prandom_u32,
// which does little itself) or kCalls calls of an empty subprogram.
absl::StatusOr<UniqueFd> LoadCaller(bool subprog) {
  std::vector<bpf_insn> insns;
  for (int i = 0; i < kCalls; ++i) {
    // A subprogram call's imm is the distance to its first instruction,
    // from the instruction after the call: the empty one after exit.
    insns.push_back(subprog ? Call(BPF_PSEUDO_CALL, kCalls - i + 1)
                            : Call(0, BPF_FUNC_get_prandom_u32));
  }
  insns.insert(insns.end(), {SetR0(TC_ACT_OK), Exit()});
  if (subprog) insns.insert(insns.end(), {SetR0(0), Exit()});
  return LoadTcInsns(insns, subprog ? "ovx_bench_subprog" : "ovx_bench_helper");
}

// kCalls lookups of key in the hash map map_fd (an `endpoints` key, so
// the key compare is as long as encap's); TC_ACT_OK if the last one hit,
// TC_ACT_SHOT if not.
absl::StatusOr<UniqueFd> LoadHashLookups(int map_fd,
                                         const ovx_endpoint_key& k) {
  static_assert(sizeof(ovx_endpoint_key) == 24, "key on the stack at fp-24");
  auto store = [](uint8_t size, int16_t off, int32_t imm) {
    return Insn(BPF_ST | BPF_MEM | size, BPF_REG_10, 0, off, imm);
  };
  std::vector<bpf_insn> insns = {
      store(BPF_DW, -24, 0),
      store(BPF_DW, -16, 0),
      store(BPF_DW, -8, 0),
      store(BPF_W, -24, static_cast<int32_t>(k.vni)),
      store(BPF_B, -20, k.family),
      store(BPF_W, -16, static_cast<int32_t>(k.addr[0])),
  };
  for (int i = 0; i < kCalls; ++i) {
    insns.insert(
        insns.end(),
        {// r1 = map: a two-instruction load
         Insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0,
              map_fd),
         Insn(0, 0, 0, 0, 0),
         // r2 = fp - 24
         Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
         Insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -24),
         Call(0, BPF_FUNC_map_lookup_elem)});
  }
  insns.insert(insns.end(),
               {Insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0),
                SetR0(TC_ACT_OK), Exit(), SetR0(TC_ACT_SHOT), Exit()});
  return LoadTcInsns(insns, "ovx_bench_htab");
}

// Mean ns of one run of fd on pkt, over many runs in the kernel's own loop:
// these programs leave the packet alone, so repeat is safe here.
absl::StatusOr<double> RepeatedRunNs(int fd, const Bytes& pkt) {
  constexpr uint32_t kRepeat = 200000;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt.data(),
              .data_size_in = static_cast<uint32_t>(pkt.size()),
              .repeat = kRepeat);
  if (bpf_prog_test_run_opts(fd, &opts) != 0)
    return Errno(errno, "BPF_PROG_TEST_RUN (call cost)");
  if (opts.retval != TC_ACT_OK) {
    return absl::InternalError(absl::StrCat("call-cost program returned ",
                                            opts.retval, ", want TC_ACT_OK"));
  }
  return opts.duration;  // the kernel reports the mean per run
}

// ns per helper call, per subprogram call and per hash map lookup (a hit):
// the median over rounds of (caller - trivial) / kCalls, all run in turn.
absl::StatusOr<CallCostResult> MeasureCallCosts(const Bytes& pkt) {
  auto nop = LoadTrivial(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
  if (!nop.ok()) return nop.status();
  auto helper = LoadCaller(false);
  if (!helper.ok()) return helper.status();
  auto subprog = LoadCaller(true);
  if (!subprog.ok()) return subprog.status();
  // A hash map like `endpoints`, holding the key looked up.
  int map = bpf_map_create(BPF_MAP_TYPE_HASH, "ovx_bench_htab",
                           sizeof(ovx_endpoint_key), sizeof(ovx_endpoint), 1024,
                           nullptr);
  if (map < 0) return Errno(errno, "create hash map (call cost)");
  UniqueFd map_fd(map);
  const ovx_endpoint_key key = maps::EndpointKey(kVni, Ip(kIpC2));
  ovx_endpoint value;
  std::memset(&value, 0, sizeof(value));
  if (bpf_map_update_elem(map, &key, &value, BPF_ANY) != 0)
    return Errno(errno, "fill hash map (call cost)");
  auto lookups = LoadHashLookups(map, key);
  if (!lookups.ok()) return lookups.status();
  // Per call of each program: the median over rounds of its run minus the
  // trivial run just before it, / kCalls.
  const int callers[] = {helper->get(), subprog->get(), lookups->get()};
  constexpr int kRounds = 7;
  std::vector<double> trivial, per_call[3];
  for (int round = 0; round < kRounds; ++round) {
    auto t = RepeatedRunNs(nop->get(), pkt);
    if (!t.ok()) return t.status();
    trivial.push_back(*t);
    for (int p = 0; p < 3; ++p) {
      auto d = RepeatedRunNs(callers[p], pkt);
      if (!d.ok()) return d.status();
      per_call[p].push_back((*d - *t) / kCalls);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return CallCostResult{.trivial_run_ns = median(trivial),
                        .helper_call_ns = median(per_call[0]),
                        .subprog_call_ns = median(per_call[1]),
                        .hash_lookup_ns = median(per_call[2])};
}

// ---- timing -----------------------------------------------------------------

struct Target {
  int prog_fd;
  bool xdp;
  uint32_t ifindex;  // XDP: ingress_ifindex; TC: the skb's device
};

absl::StatusOr<uint32_t> RunOnce(const Target& t, const Bytes& pkt,
                                 uint32_t* retval) {
  uint8_t out[4096];
  xdp_md xctx;
  __sk_buff sctx;
  std::memset(&xctx, 0, sizeof(xctx));
  std::memset(&sctx, 0, sizeof(sctx));
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt.data(), .data_out = out,
              .data_size_in = static_cast<uint32_t>(pkt.size()),
              .data_size_out = sizeof(out), .repeat = 1);
  if (t.xdp) {
    xctx.data_end = pkt.size();
    xctx.ingress_ifindex = t.ifindex;
    opts.ctx_in = &xctx;
    opts.ctx_size_in = sizeof(xctx);
  } else {
    sctx.ifindex = t.ifindex;
    sctx.ingress_ifindex = t.ifindex;
    opts.ctx_in = &sctx;
    opts.ctx_size_in = sizeof(sctx);
  }
  if (bpf_prog_test_run_opts(t.prog_fd, &opts) != 0)
    return Errno(errno, "BPF_PROG_TEST_RUN");
  *retval = opts.retval;
  return opts.duration;
}

struct Expect {
  uint32_t dir;
  uint32_t reason;
};

uint64_t CounterPackets(const std::vector<maps::CounterReading>& c, Expect e) {
  for (const auto& r : c)
    if (r.dir == e.dir && r.reason == e.reason) return r.packets;
  return 0;
}

// o.iterations runs of prog (through run_prog) and of baseline each, in
// interleaved blocks of o.block after a warm-up of prog.
struct Timings {
  std::vector<uint32_t> raw, base;
  uint32_t retval = 0;  // prog's last
};

absl::StatusOr<Timings> TimeInterleaved(
    const ProgCostOptions& o,
    const std::function<absl::StatusOr<uint32_t>(uint32_t*)>& run_prog,
    const Target& baseline, const Bytes& pkt) {
  Timings t;
  t.raw.reserve(o.iterations);
  t.base.reserve(o.iterations);
  uint32_t base_retval = 0;
  // Warm caches and the branch predictor before anything is recorded.
  for (uint32_t i = 0; i < o.block; ++i) {
    auto d = run_prog(&t.retval);
    if (!d.ok()) return d.status();
  }
  while (t.raw.size() < o.iterations) {
    for (uint32_t i = 0; i < o.block && t.base.size() < o.iterations; ++i) {
      auto d = RunOnce(baseline, pkt, &base_retval);
      if (!d.ok()) return d.status();
      t.base.push_back(*d);
    }
    for (uint32_t i = 0; i < o.block && t.raw.size() < o.iterations; ++i) {
      auto d = run_prog(&t.retval);
      if (!d.ok()) return d.status();
      t.raw.push_back(*d);
    }
  }
  return t;
}

ProgCostResult Summarize(const ProgCostOptions& o, absl::string_view name,
                         absl::string_view program, uint32_t endpoints,
                         const Timings& t) {
  ProgCostResult r;
  r.name = std::string(name);
  r.program = std::string(program);
  r.endpoints = endpoints;
  r.iterations = o.iterations;
  // One grid for both: the same clock times them.
  std::vector<uint32_t> all = t.raw;
  all.insert(all.end(), t.base.begin(), t.base.end());
  ClockGrid grid = FindClockGrid(all);
  r.clock_step_ns = grid.step;
  r.raw_median_ns = GridMedian(t.raw, grid);
  r.baseline_median_ns = GridMedian(t.base, grid);
  r.ns_per_packet = r.raw_median_ns - r.baseline_median_ns;
  r.raw_p10_ns = Percentile(t.raw, 0.1);
  r.raw_p90_ns = Percentile(t.raw, 0.9);
  r.retval = t.retval;
  return r;
}

// before_run, when set, runs before every run of prog (not of the
// baseline), outside the kernel-timed part: it resets state the program
// changes, e.g. conntrack for the uncached policy path.
absl::StatusOr<ProgCostResult> Measure(
    const ProgCostOptions& o, absl::string_view name, absl::string_view program,
    const Target& prog, const Target& baseline, const Bytes& pkt, Expect expect,
    uint32_t endpoints,
    const std::function<absl::Status()>& before_run = nullptr) {
  auto run_prog = [&](uint32_t* retval) -> absl::StatusOr<uint32_t> {
    if (before_run) {
      if (absl::Status s = before_run(); !s.ok()) return s;
    }
    return RunOnce(prog, pkt, retval);
  };
  auto before = maps::ReadCounters(o.bpffs);
  if (!before.ok()) return before.status();
  auto t = TimeInterleaved(o, run_prog, baseline, pkt);
  if (!t.ok()) return t.status();
  auto after = maps::ReadCounters(o.bpffs);
  if (!after.ok()) return after.status();
  uint64_t moved =
      CounterPackets(*after, expect) - CounterPackets(*before, expect);
  uint64_t want = static_cast<uint64_t>(o.iterations) + o.block;
  if (moved != want) {
    std::string seen;
    for (const auto& r : *after)
      absl::StrAppend(&seen, " ", maps::DirectionName(r.dir), "/",
                      maps::ReasonName(r.reason), "=", r.packets);
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s (%d endpoints): counter %s/%s moved by %d, want %d (retval %d); "
        "the program did not take the path being timed. Counters:%s",
        name, endpoints, maps::DirectionName(expect.dir),
        maps::ReasonName(expect.reason), moved, want, t->retval, seen));
  }
  return Summarize(o, name, program, endpoints, *t);
}

// ---- the helper calls each path cannot do without ------------------------
//
// Encap must grow the packet and redirect it to the underlay; XDP decap must
// strip the headers and redirect the frame or hand it to TC. Programs that
// make only those calls, timed as the cases are, give the cost below which
// no design of the path can go on this machine, before it looks anything up
// or reads a header.

bpf_insn MovReg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

// reg = v, a two-instruction load.
std::vector<bpf_insn> Ld64(uint8_t reg, uint64_t v) {
  return {Insn(BPF_LD | BPF_DW | BPF_IMM, reg, 0, 0, static_cast<int32_t>(v)),
          Insn(0, 0, 0, 0, static_cast<int32_t>(v >> 32))};
}

// A helper called with the context in r1; args set r2 and on.
struct HelperCall {
  int32_t func;
  std::vector<bpf_insn> args;
};

// Makes each call in turn, and returns fail_verdict as soon as one returns
// anything but 0; then runs tail, which must exit.
std::vector<bpf_insn> CheckedCalls(const std::vector<HelperCall>& calls,
                                   const std::vector<bpf_insn>& tail,
                                   int32_t fail_verdict) {
  std::vector<bpf_insn> insns = {MovReg(BPF_REG_6, BPF_REG_1)};
  std::vector<size_t> jumps_to_fail;
  for (const HelperCall& c : calls) {
    insns.push_back(MovReg(BPF_REG_1, BPF_REG_6));
    insns.insert(insns.end(), c.args.begin(), c.args.end());
    insns.push_back(Call(0, c.func));
    jumps_to_fail.push_back(insns.size());
    insns.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0));
  }
  insns.insert(insns.end(), tail.begin(), tail.end());
  for (size_t j : jumps_to_fail)
    insns[j].off = static_cast<int16_t>(insns.size() - j - 1);
  insns.insert(insns.end(), {SetR0(fail_verdict), Exit()});
  return insns;
}

// return bpf_redirect(ifindex, 0)
std::vector<bpf_insn> RedirectTail(uint32_t ifindex) {
  return {MovImm(BPF_REG_1, static_cast<int32_t>(ifindex)),
          MovImm(BPF_REG_2, 0), Call(0, BPF_FUNC_redirect), Exit()};
}

struct HelperFloor {
  const char* name;   // "<case> helpers"
  const char* calls;  // for the table's program column
  std::vector<bpf_insn> insns;
  uint32_t verdict;  // returned when every call worked
  const Target* baseline;
  const Bytes* pkt;
};

// One row per path with a per-packet goal, endpoints 0 (they use no map).
absl::StatusOr<std::vector<ProgCostResult>> MeasureHelperFloors(
    const ProgCostOptions& o, uint32_t ul_if, uint32_t ep_if,
    const Target& xdp_nop, const Target& tc_nop, const Bytes& vxlan_in,
    const Bytes& to_remote, const Bytes& tcp_to_remote) {
  const HelperCall strip = {BPF_FUNC_xdp_adjust_head,
                            {MovImm(BPF_REG_2, OVX_VXLAN_OVERHEAD)}};
  const HelperCall meta = {
      BPF_FUNC_xdp_adjust_meta,
      {MovImm(BPF_REG_2, -static_cast<int32_t>(sizeof(ovx_xdp_meta)))}};
  const HelperCall push = {
      BPF_FUNC_skb_change_head,
      {MovImm(BPF_REG_2, OVX_VXLAN_OVERHEAD), MovImm(BPF_REG_3, 0)}};
  // encap_room()'s flags for a TCP segment (bpf/lib/vxlan.h).
  std::vector<bpf_insn> room_args = Ld64(
      BPF_REG_4, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
                     BPF_F_ADJ_ROOM_ENCAP_L2(sizeof(ethhdr)) |
                     BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_FIXED_GSO);
  room_args.insert(room_args.end(), {MovImm(BPF_REG_2, OVX_VXLAN_OVERHEAD),
                                     MovImm(BPF_REG_3, BPF_ADJ_ROOM_MAC)});
  const HelperCall room = {BPF_FUNC_skb_adjust_room, room_args};

  const HelperFloor floors[] = {
      {"encap helpers", "bpf_skb_change_head + bpf_redirect only",
       CheckedCalls({push}, RedirectTail(ul_if), TC_ACT_SHOT), TC_ACT_REDIRECT,
       &tc_nop, &to_remote},
      {"encap-tcp helpers", "bpf_skb_adjust_room + bpf_redirect only",
       CheckedCalls({room}, RedirectTail(ul_if), TC_ACT_SHOT), TC_ACT_REDIRECT,
       &tc_nop, &tcp_to_remote},
      {"decap-xdp helpers", "bpf_xdp_adjust_head + bpf_redirect only",
       CheckedCalls({strip}, RedirectTail(ep_if), XDP_ABORTED), XDP_REDIRECT,
       &xdp_nop, &vxlan_in},
      {"decap-tc (xdp half) helpers",
       "bpf_xdp_adjust_head + bpf_xdp_adjust_meta only",
       CheckedCalls({strip, meta}, {SetR0(XDP_PASS), Exit()}, XDP_ABORTED),
       XDP_PASS, &xdp_nop, &vxlan_in},
  };
  std::vector<ProgCostResult> results;
  for (const HelperFloor& f : floors) {
    // Of the baseline's type, run on its device.
    auto fd =
        LoadInsns(f.baseline->xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS,
                  f.insns, "ovx_bench_floor");
    if (!fd.ok()) return fd.status();
    const Target prog{fd->get(), f.baseline->xdp, f.baseline->ifindex};
    auto run_prog = [&](uint32_t* retval) -> absl::StatusOr<uint32_t> {
      auto d = RunOnce(prog, *f.pkt, retval);
      if (d.ok() && *retval != f.verdict)
        return absl::InternalError(absl::StrFormat(
            "helper-floor: %s returned %d, want %d: a call failed", f.name,
            *retval, f.verdict));
      return d;
    };
    auto t = TimeInterleaved(o, run_prog, *f.baseline, *f.pkt);
    if (!t.ok()) return t.status();
    results.push_back(Summarize(o, f.name, f.calls, 0, *t));
  }
  return results;
}

absl::StatusOr<uint32_t> IfIndex(const std::string& name) {
  uint32_t i = if_nametoindex(name.c_str());
  if (i == 0) return Errno(errno, absl::StrCat("interface ", name));
  return i;
}

// The endpoints of the cases, marked for net as the controller marks them:
// c1 and c3 local (endpoint_iface, peer_iface), c2 behind remote_vtep.
absl::Status PutBaseEndpoints(maps::DataplaneMaps& m, const ProgCostOptions& o,
                              uint32_t ep_if, uint32_t peer_if,
                              const ovx_network& net) {
  const std::pair<const char*, ovx_endpoint> endpoints[] = {
      {kIpC1, maps::LocalEndpoint(ep_if, kMacC1, 1)},
      {kIpC3, maps::LocalEndpoint(peer_if, kMacC3, 3)},
      {kIpC2, maps::RemoteEndpoint(Ip(o.remote_vtep), kMacC2, 2)},
  };
  for (const auto& [ip, ep] : endpoints) {
    if (auto s = m.endpoints.Update(maps::EndpointKey(kVni, Ip(ip)),
                                    maps::InNetwork(ep, net));
        !s.ok())
      return s;
  }
  return absl::OkStatus();
}

// An open network with the base endpoints, their interfaces and c2's VTEP.
absl::Status FillBase(maps::DataplaneMaps& m, const ProgCostOptions& o,
                      uint32_t ep_if, uint32_t peer_if) {
  ovx_network net;
  std::memset(&net, 0, sizeof(net));
  net.mtu = 1450;
  in_addr rv = Ip(o.remote_vtep);
  ovx_vtep vtep{.node_id = 2, .flags = 0};
  ovx_vtep_vni vv{.endpoints = 1};
  absl::Status s;
  if (s = m.networks.Update(kVni, net); !s.ok()) return s;
  if (s = m.vteps.Update(maps::VtepKey(rv), vtep); !s.ok()) return s;
  if (s = m.vtep_vnis.Update(maps::VtepVniKey(rv, kVni), vv); !s.ok()) return s;
  if (s = m.interfaces.Update(ep_if,
                              maps::Interface(kVni, Ip(kIpC1), kMacC1, 1));
      !s.ok())
    return s;
  if (s = m.interfaces.Update(peer_if,
                              maps::Interface(kVni, Ip(kIpC3), kMacC3, 3));
      !s.ok())
    return s;
  return PutBaseEndpoints(m, o, ep_if, peer_if, net);
}

in_addr Filler(uint32_t i) { return in_addr{.s_addr = htonl(kFillerBase + i)}; }

// The policy map of a deny network with 1,000 rules: 100 services of two
// endpoints each, rule i from service i%100 to another service on a random
// tcp port range (the shape of controller/policy's size test), compiled by
// the real compiler into VNI kVni; plus the rule under test, c1 (identity
// 1) -> c3 (identity 3) udp/kInnerDport. Returns the entries written.
absl::StatusOr<size_t> FillPolicy(maps::PolicyMap& policy) {
  using controller::AddEndpoint;
  using controller::AddNetwork;
  using controller::AddNode;
  using controller::AddPolicy;
  controller::Snapshot s;
  absl::Status st = AddNetwork(s, {.name = "bench",
                                   .vni = kVni,
                                   .subnet = "10.20.0.0/16",
                                   .policy = "deny"})
                        .status();
  if (st.ok()) st = AddNode(s, {.name = "n1", .vtep = "192.168.77.1"}).status();
  for (int i = 0; st.ok() && i < 200; ++i) {
    st = AddEndpoint(s, {.name = absl::StrCat("s", i / 2, "-", i % 2),
                         .network = "bench",
                         .node = "n1",
                         .labels = {{"app", absl::StrCat("s", i / 2)}}})
             .status();
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> port(1, 65535);
  for (int i = 0; st.ok() && i < 1000; ++i) {
    uint32_t a = port(rng), b = port(rng);
    if (a > b) std::swap(a, b);
    st = AddPolicy(s,
                   {.name = absl::StrCat("r", i),
                    .network = "bench",
                    .from = absl::StrCat("app=s", i % 100),
                    .to = absl::StrCat("app=s", (i % 100 + 1 + i / 100) % 100),
                    .proto = "tcp",
                    .port = absl::StrCat(a, "-", b)})
             .status();
  }
  if (!st.ok()) return st;
  controller::CompiledPolicy compiled =
      controller::CompilePolicies(s, {"bench"});
  compiled.entries.push_back(
      {controller::PolicyKey(kVni, 1, 3, IPPROTO_UDP, kInnerDport, 16),
       ovx_policy{.flags = OVX_POLICY_F_ALLOW, .rule_id = 1}});
  for (const auto& e : compiled.entries) {
    if (absl::Status u = policy.Update(e.key, e.value); !u.ok()) return u;
  }
  return compiled.entries.size();
}

// Encap's bpf_fib_lookup() returns FWD_DISABLED before any lookup when the
// underlay does not forward, and the fallback, bpf_redirect_neigh(), does
// its route and neighbour lookups after the program, where no timer runs:
// encap would be timed without its route lookup.
absl::Status CheckForwarding(const std::string& iface) {
  auto on = loader::Ipv4Forwarding(iface);
  if (!on.ok()) return on.status();
  if (!*on) {
    return absl::FailedPreconditionError(absl::StrCat(
        "net.ipv4.conf.", iface,
        ".forwarding is 0: encap's route lookup would not be timed (set "
        "net.ipv4.ip_forward=1 in this netns, as bench/lib/prog_cost.sh "
        "does)"));
  }
  return absl::OkStatus();
}

bool Selected(const ProgCostOptions& o, const char* name) {
  return o.cases.empty() ||
         std::find(o.cases.begin(), o.cases.end(), name) != o.cases.end();
}

}  // namespace

absl::StatusOr<ProgCostReport> RunProgCost(const ProgCostOptions& o) {
  auto ul_if = IfIndex(o.underlay_iface);
  if (!ul_if.ok()) return ul_if.status();
  if (absl::Status s = CheckForwarding(o.underlay_iface); !s.ok()) return s;
  auto ep_if = IfIndex(o.endpoint_iface);
  if (!ep_if.ok()) return ep_if.status();
  auto peer_if = IfIndex(o.peer_iface);
  if (!peer_if.ok()) return peer_if.status();

  auto tc = LoadTc(o, Config(o, *ul_if, 0));
  if (!tc.ok()) return tc.status();
  auto xdp_tc = LoadXdp(o, Config(o, *ul_if, 0));
  if (!xdp_tc.ok()) return xdp_tc.status();
  auto xdp_x = LoadXdp(o, Config(o, *ul_if, OVX_CFG_F_XDP_DELIVER));
  if (!xdp_x.ok()) return xdp_x.status();
  auto tc_in = LoadTcIngress(o, Config(o, *ul_if, OVX_CFG_F_TC_INGRESS));
  if (!tc_in.ok()) return tc_in.status();
  auto nop_tc = LoadTrivial(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
  if (!nop_tc.ok()) return nop_tc.status();
  auto nop_xdp = LoadTrivial(BPF_PROG_TYPE_XDP, XDP_PASS);
  if (!nop_xdp.ok()) return nop_xdp.status();

  auto m = maps::DataplaneMaps::Open(o.bpffs);
  if (!m.ok()) return m.status();
  if (auto s = FillBase(*m, o, *ep_if, *peer_if); !s.ok()) return s;

  const Target tc_prog{bpf_program__fd((*tc)->progs.ovx_tc_endpoint), false,
                       *ep_if};
  const Target tc_nop{nop_tc->get(), false, *ep_if};
  const Target xdp_tc_prog{bpf_program__fd((*xdp_tc)->progs.ovx_xdp_underlay),
                           true, *ul_if};
  const Target xdp_x_prog{bpf_program__fd((*xdp_x)->progs.ovx_xdp_underlay),
                          true, *ul_if};
  const Target xdp_nop{nop_xdp->get(), true, *ul_if};
  const Target tc_in_prog{bpf_program__fd((*tc_in)->progs.ovx_tc_underlay),
                          false, *ul_if};
  const Target tc_ul_nop{nop_tc->get(), false, *ul_if};

  const Bytes to_remote = InnerFrame(kMacC2, kMacC1, kIpC1, kIpC2);
  const Bytes tcp_to_remote = InnerTcpFrame(kMacC2, kMacC1, kIpC1, kIpC2);
  const Bytes to_local = InnerFrame(kMacC3, kMacC1, kIpC1, kIpC3);
  const Bytes spoofed = InnerFrame(kMacC2, kMacC1, "10.40.0.99", kIpC2);
  const Bytes arp = ArpRequest(kMacC1, kIpC1, kIpC2);
  const Bytes vxlan_in = VxlanFrame(o.remote_vtep, o.local_vtep, kVni,
                                    InnerFrame(kMacC1, kMacC2, kIpC2, kIpC1));
  const Bytes vxlan_stranger =
      VxlanFrame("192.168.77.99", o.local_vtep, kVni,
                 InnerFrame(kMacC1, kMacC2, kIpC2, kIpC1));
  Bytes not_overlay;
  Eth(not_overlay, kMacUl1, kMacUl2, ETH_P_IP);
  Ipv4Udp(not_overlay, Ip(o.remote_vtep), Ip(o.local_vtep), 40000, 53,
          Bytes(22, 0));

  // tc_endpoint's per-CPU next-hop cache, emptied: the next encap runs the
  // FIB lookup (and caches its answer again). All slots are emptied once,
  // one encap finds the slot it fills, and each run empties just that one:
  // emptying all 256 (16 KB over the CPUs) before every run evicted the
  // caches and added ~35 ns of cold misses to encap-fib.
  const int nexthops = bpf_map__fd((*tc)->maps.nexthops);
  const uint32_t slots = bpf_map__max_entries((*tc)->maps.nexthops);
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Errno(-cpus, "count possible CPUs");
  std::vector<uint32_t> slot_keys(slots);
  for (uint32_t i = 0; i < slots; ++i) slot_keys[i] = i;
  const size_t slot_bytes =
      static_cast<size_t>(cpus) *
      ((bpf_map__value_size((*tc)->maps.nexthops) + 7) / 8 * 8);
  const std::vector<uint8_t> zeros(slots * slot_bytes);
  auto empty_slots = [&](const uint32_t* keys, uint32_t n) -> absl::Status {
    uint32_t count = n;
    if (bpf_map_update_batch(nexthops, keys, zeros.data(), &count, nullptr) !=
        0)
      return Errno(errno, "empty the next-hop cache");
    return absl::OkStatus();
  };
  auto find_filled_slot = [&]() -> absl::StatusOr<uint32_t> {
    if (auto s = empty_slots(slot_keys.data(), slots); !s.ok()) return s;
    uint32_t retval = 0;
    if (auto d = RunOnce(tc_prog, to_remote, &retval); !d.ok())
      return d.status();
    std::optional<uint32_t> found;
    std::vector<uint8_t> value(slot_bytes);
    for (uint32_t k = 0; k < slots; ++k) {
      if (bpf_map_lookup_elem(nexthops, &k, value.data()) != 0)
        return Errno(errno, "read the next-hop cache");
      if (std::all_of(value.begin(), value.end(),
                      [](uint8_t b) { return b == 0; }))
        continue;
      if (found.has_value())
        return absl::FailedPreconditionError(
            "encap-fib: one encap filled two next-hop slots");
      found = k;
    }
    if (!found.has_value())
      return absl::FailedPreconditionError(absl::StrFormat(
          "encap-fib: one encap filled no next-hop slot (retval %d)", retval));
    return *found;
  };
  std::optional<uint32_t> filled_slot;  // found before encap-fib's timing
  auto forget_nexthops = [&]() -> absl::Status {
    return empty_slots(&*filled_slot, 1);
  };

  struct Case {
    const char* name;
    const char* program;
    const Target* prog;
    const Target* baseline;
    const Bytes* pkt;
    Expect expect;
    bool uncached_nexthop = false;
    // The base endpoints' endpoint_slots2 slots emptied while it is timed: what a
    // packet of an endpoint whose slot another holds costs (the hash).
    bool no_slots = false;
  };
  const Case cases[] = {
      // The next hop is cached after the warm-up, as for any packet of a
      // flow after its first within 100 ms.
      {"encap",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &to_remote,
       {OVX_DIR_EGRESS, OVX_FWD_ENCAP}},
      // A TCP segment: adjust_room instead of change_head (encap_room()).
      {"encap-tcp",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &tcp_to_remote,
       {OVX_DIR_EGRESS, OVX_FWD_ENCAP}},
      // The cache emptied before every run: bpf_fib_lookup() each time.
      {"encap-fib",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &to_remote,
       {OVX_DIR_EGRESS, OVX_FWD_ENCAP},
       true},
      {"encap (no slot)",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &to_remote,
       {OVX_DIR_EGRESS, OVX_FWD_ENCAP},
       false,
       true},
      {"local-delivery",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &to_local,
       {OVX_DIR_EGRESS, OVX_FWD_LOCAL}},
      {"arp-reply",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &arp,
       {OVX_DIR_EGRESS, OVX_ARP_REPLY}},
      {"drop-spoofed-ip",
       "tc_endpoint",
       &tc_prog,
       &tc_nop,
       &spoofed,
       {OVX_DIR_EGRESS, OVX_DROP_SPOOF_IP}},
      {"decap-xdp",
       "xdp_underlay(xdp-deliver)",
       &xdp_x_prog,
       &xdp_nop,
       &vxlan_in,
       {OVX_DIR_INGRESS, OVX_FWD_DECAP}},
      {"decap-xdp (no slot)",
       "xdp_underlay(xdp-deliver)",
       &xdp_x_prog,
       &xdp_nop,
       &vxlan_in,
       {OVX_DIR_INGRESS, OVX_FWD_DECAP},
       false,
       true},
      {"decap-tc (xdp half)",
       "xdp_underlay",
       &xdp_tc_prog,
       &xdp_nop,
       &vxlan_in,
       {OVX_DIR_INGRESS, OVX_FWD_DECAP}},
      {"decap-tcin",
       "tc_underlay(--ingress=tc)",
       &tc_in_prog,
       &tc_ul_nop,
       &vxlan_in,
       {OVX_DIR_INGRESS, OVX_FWD_DECAP_PEER}},
      {"pass-not-overlay (tcin)",
       "tc_underlay(--ingress=tc)",
       &tc_in_prog,
       &tc_ul_nop,
       &not_overlay,
       {OVX_DIR_INGRESS, OVX_PASS_NOT_OVERLAY}},
      {"drop-unknown-vtep (tcin)",
       "tc_underlay(--ingress=tc)",
       &tc_in_prog,
       &tc_ul_nop,
       &vxlan_stranger,
       {OVX_DIR_INGRESS, OVX_DROP_UNKNOWN_VTEP}},
      {"drop-unknown-vtep",
       "xdp_underlay",
       &xdp_tc_prog,
       &xdp_nop,
       &vxlan_stranger,
       {OVX_DIR_INGRESS, OVX_DROP_UNKNOWN_VTEP}},
      {"pass-not-overlay",
       "xdp_underlay",
       &xdp_tc_prog,
       &xdp_nop,
       &not_overlay,
       {OVX_DIR_INGRESS, OVX_PASS_NOT_OVERLAY}},
  };

  // Empties the base endpoints' slots, or fills them again from the map.
  auto endpoint_slots = maps::EndpointSlots::Open(o.bpffs);
  if (!endpoint_slots.ok()) return endpoint_slots.status();
  if (!endpoint_slots->has_value())
    return absl::FailedPreconditionError(
        absl::StrCat("the programs pin no ", OVX_MAP_ENDPOINT_SLOTS));
  auto set_base_slots = [&](bool present) -> absl::Status {
    for (const char* ip : {kIpC1, kIpC2, kIpC3}) {
      const ovx_endpoint_key key = maps::EndpointKey(kVni, Ip(ip));
      if (!present) {
        (*endpoint_slots)->Remove(key);
        continue;
      }
      auto ep = m->endpoints.Lookup(key);
      if (!ep.ok()) return ep.status();
      if (!ep->has_value() || !(*endpoint_slots)->Put(key, **ep))
        return absl::InternalError(
            absl::StrCat("endpoint ", ip, " lost its entry or its slot"));
    }
    return absl::OkStatus();
  };

  ProgCostReport report;
  uint32_t filled = 0;  // filler endpoints currently in the map
  for (uint32_t want : o.endpoint_counts) {
    uint32_t target = want > 3 ? want - 3 : 0;  // 3 base endpoints
    if (target > filled) {
      in_addr rv = Ip(o.remote_vtep);
      auto start = std::chrono::steady_clock::now();
      for (uint32_t i = filled; i < target; ++i) {
        if (auto s =
                m->endpoints.Update(maps::EndpointKey(kVni, Filler(i)),
                                    maps::RemoteEndpoint(rv, kMacC2, 1000 + i));
            !s.ok())
          return s;
      }
      std::chrono::duration<double> took =
          std::chrono::steady_clock::now() - start;
      if (target - filled >= 100)
        report.map_rates.push_back(
            {"update", target - filled, (target - filled) / took.count()});
      filled = target;
    }
    uint32_t endpoints = filled + 3;
    for (const Case& c : cases) {
      if (!Selected(o, c.name)) continue;
      if (c.uncached_nexthop && !filled_slot.has_value()) {
        absl::StatusOr<uint32_t> found = find_filled_slot();
        if (!found.ok()) return found.status();
        filled_slot = *found;
      }
      if (c.no_slots) {
        if (auto s = set_base_slots(false); !s.ok()) return s;
      }
      auto r = Measure(o, c.name, c.program, *c.prog, *c.baseline, *c.pkt,
                       c.expect, endpoints,
                       c.uncached_nexthop
                           ? std::function<absl::Status()>(forget_nexthops)
                           : nullptr);
      if (c.no_slots) {
        if (auto s = set_base_slots(true); !s.ok()) return s;
      }
      if (!r.ok()) return r.status();
      report.programs.push_back(*r);
    }
  }

  // Policy path: the network turns --policy=deny, 1,000 rules in the trie.
  auto policy = maps::OpenPolicyMap(o.bpffs);
  if (!policy.ok()) return policy.status();
  if (!policy->has_value())
    return absl::FailedPreconditionError("the programs pin no policy map");
  auto conntrack = maps::PinnedMap::Open(
      o.bpffs, OVX_MAP_CONNTRACK, sizeof(ovx_ct_key), sizeof(ovx_ct_entry));
  if (!conntrack.ok()) return conntrack.status();
  auto entries = FillPolicy(**policy);
  if (!entries.ok()) return entries.status();
  ovx_network deny;
  std::memset(&deny, 0, sizeof(deny));
  deny.flags = OVX_NET_F_POLICY_DENY;
  deny.mtu = 1450;
  if (auto s = m->networks.Update(kVni, deny); !s.ok()) return s;
  if (auto s = PutBaseEndpoints(*m, o, *ep_if, *peer_if, deny); !s.ok())
    return s;
  auto flush_conntrack = [&]() -> absl::Status {
    auto keys = conntrack->KeysRaw();
    if (!keys.ok()) return keys.status();
    for (const auto& k : *keys) {
      if (auto s = conntrack->DeleteRaw(k.data()); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  // The uncached case's reset deletes the one entry a run creates, found by
  // a first run. Walking the map instead (262,144 buckets) would evict the
  // caches before every timed run, and time cold misses, not the path. A
  // run that creates no entry, or another one, fails the next delete.
  std::vector<uint8_t> created_entry;
  auto forget_created_entry = [&]() -> absl::Status {
    absl::Status s = conntrack->DeleteRaw(created_entry.data());
    if (!s.ok())
      return absl::FailedPreconditionError(absl::StrCat(
          "policy-uncached: the run did not create its conntrack entry: ",
          s.message()));
    return s;
  };
  auto find_created_entry = [&](const Bytes& pkt) -> absl::Status {
    if (auto s = flush_conntrack(); !s.ok()) return s;
    uint32_t retval = 0;
    if (auto d = RunOnce(tc_prog, pkt, &retval); !d.ok()) return d.status();
    auto keys = conntrack->KeysRaw();
    if (!keys.ok()) return keys.status();
    if (keys->size() != 1)
      return absl::FailedPreconditionError(absl::StrFormat(
          "policy-uncached: one run left %d conntrack entries, want 1 "
          "(retval %d)",
          keys->size(), retval));
    created_entry = std::move(keys->front());
    return absl::OkStatus();
  };
  const Bytes to_local_denied =
      InnerFrame(kMacC3, kMacC1, kIpC1, kIpC3, /*dport=*/22);
  const std::string policy_program = absl::StrFormat(
      "tc_endpoint, deny net, 1,000 rules = %d policy entries", *entries);
  struct PolicyCase {
    const char* name;
    const Bytes* pkt;
    Expect expect;
    bool uncached;
  };
  const PolicyCase policy_cases[] = {
      // Conntrack holds the flow after the warm-up: one lookup, then deliver.
      {"policy-cached", &to_local, {OVX_DIR_EGRESS, OVX_FWD_LOCAL}, false},
      // The flow's entry deleted before every run: both directions miss,
      // the LPM decides, the entry is created.
      {"policy-uncached", &to_local, {OVX_DIR_EGRESS, OVX_FWD_LOCAL}, true},
      // No rule for port 22: two conntrack misses, four LPM lookups, drop.
      // A refused flow gets no entry, so every run takes this path (the
      // counter check holds it to that).
      {"policy-denied",
       &to_local_denied,
       {OVX_DIR_EGRESS, OVX_DROP_POLICY},
       false},
  };
  for (const PolicyCase& c : policy_cases) {
    if (!Selected(o, c.name)) continue;
    if (auto s = flush_conntrack(); !s.ok()) return s;
    if (c.uncached) {
      if (auto s = find_created_entry(*c.pkt); !s.ok()) return s;
    }
    auto r =
        Measure(o, c.name, policy_program, tc_prog, tc_nop, *c.pkt, c.expect,
                filled + 3,
                c.uncached ? std::function<absl::Status()>(forget_created_entry)
                           : nullptr);
    if (!r.ok()) return r.status();
    report.programs.push_back(*r);
  }

  if (filled >= 100) {
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < filled; ++i) {
      if (auto s = m->endpoints.Delete(maps::EndpointKey(kVni, Filler(i)));
          !s.ok())
        return s;
    }
    std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    report.map_rates.push_back({"delete", filled, filled / took.count()});
  }
  if (Selected(o, "helper-floor")) {
    auto floors = MeasureHelperFloors(o, *ul_if, *ep_if, xdp_nop, tc_nop,
                                      vxlan_in, to_remote, tcp_to_remote);
    if (!floors.ok()) return floors.status();
    report.programs.insert(report.programs.end(), floors->begin(),
                           floors->end());
  }
  if (Selected(o, "call-cost")) {
    auto calls = MeasureCallCosts(to_remote);
    if (!calls.ok()) return calls.status();
    report.call_costs = *calls;
  }
  return report;
}

}  // namespace ovx::bench
