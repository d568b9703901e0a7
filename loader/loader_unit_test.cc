// Pure tests of the loader's command line, checks and status rendering.
#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loader/big_tcp.h"
#include "loader/cli.h"
#include "loader/kernel.h"
#include "loader/loader.h"
#include "loader/status_format.h"

namespace ovx::loader {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t Cap(int n) { return uint64_t{1} << n; }
constexpr int kNetAdmin = 12, kSysAdmin = 21, kBpf = 39;

TEST(CheckPrivilegesTest, NeedsNetAdminAndBpfOrSysAdmin) {
  EXPECT_TRUE(CheckPrivileges(0x1ffffffffff).ok());
  EXPECT_TRUE(CheckPrivileges(Cap(kNetAdmin) | Cap(kBpf)).ok());
  EXPECT_TRUE(CheckPrivileges(Cap(kNetAdmin) | Cap(kSysAdmin)).ok());
  absl::Status none = CheckPrivileges(0);
  EXPECT_TRUE(absl::IsPermissionDenied(none));
  EXPECT_THAT(none.message(), HasSubstr("must run as root"));
  EXPECT_FALSE(CheckPrivileges(Cap(kBpf) | Cap(kSysAdmin)).ok());
  EXPECT_FALSE(CheckPrivileges(Cap(kNetAdmin)).ok());
}

TEST(ParsePortRangeTest, AcceptsMinMaxOnly) {
  auto range = ParsePortRange("49152-65535");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->first, 49152);
  EXPECT_EQ(range->second, 65535);
  EXPECT_TRUE(ParsePortRange("7-7").ok());
  for (const char* bad :
       {"", "1", "0-10", "10-5", "1-65536", "a-b", "1-2-3", "-5"}) {
    auto r = ParsePortRange(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("is not a port range"));
  }
}

TEST(UnderlayOptionsFromFlagsTest, MapsFlags) {
  CliFlags f;
  f.iface = "eth0";
  f.vtep = "192.168.50.1";
  f.xdp_mode = "skb";
  f.vxlan_port = 8472;
  f.sport_range = "1000-2000";
  f.decap_delivery = "xdp";
  f.bpffs = "/tmp/x";
  auto o = UnderlayOptionsFromFlags(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->iface, "eth0");
  EXPECT_EQ(o->mode, XdpMode::kSkb);
  EXPECT_EQ(o->vxlan_port, 8472);
  EXPECT_EQ(o->sport_min, 1000);
  EXPECT_EQ(o->sport_max, 2000);
  EXPECT_TRUE(o->xdp_deliver);
  EXPECT_EQ(o->ingress, IngressHook::kAuto);
  EXPECT_EQ(o->bpffs, "/tmp/x");
}

TEST(UnderlayOptionsFromFlagsTest, IngressDefaultsToAuto) {
  CliFlags f;
  f.iface = "eth0";
  f.vtep = "192.168.50.1";
  auto o = UnderlayOptionsFromFlags(f);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->ingress, IngressHook::kAuto);
  EXPECT_FALSE(o->xdp_deliver);
  for (auto [flag, hook] : {std::pair{"auto", IngressHook::kAuto},
                            std::pair{"xdp", IngressHook::kXdp},
                            std::pair{"tc", IngressHook::kTc}}) {
    f.ingress = flag;
    o = UnderlayOptionsFromFlags(f);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->ingress, hook) << flag;
  }
}

// ChooseIngress with the driver query answered by the test.
IngressChoice ChooseWith(const UnderlayOptions& options,
                         absl::StatusOr<std::string> driver) {
  return ChooseIngress(options, [&] { return driver; });
}

TEST(ChooseIngressTest, AutoPicksTcForVethOnly) {
  UnderlayOptions o;  // ingress: auto
  struct Case {
    const char* driver;
    IngressHook hook;
    const char* reason;
  } cases[] = {
      {"veth", IngressHook::kTc,
       "auto: driver veth; XDP on a veth disables GSO on its peer"},
      {"virtio_net", IngressHook::kXdp,
       "auto: driver virtio_net; XDP drops before an skb exists"},
      {"ixgbe", IngressHook::kXdp,
       "auto: driver ixgbe; XDP drops before an skb exists"},
      {"mlx5_core", IngressHook::kXdp,
       "auto: driver mlx5_core; XDP drops before an skb exists"},
      // Only exact names: a driver that merely starts alike is a NIC.
      {"vethx", IngressHook::kXdp,
       "auto: driver vethx; XDP drops before an skb exists"},
  };
  for (const Case& c : cases) {
    IngressChoice choice = ChooseWith(o, std::string(c.driver));
    EXPECT_EQ(choice.hook, c.hook) << c.driver;
    EXPECT_EQ(choice.reason, c.reason);
  }
}

TEST(ChooseIngressTest, AutoFallsBackToXdpWhenTheDriverIsUnknown) {
  IngressChoice choice = ChooseWith(
      UnderlayOptions{},
      absl::NotFoundError("ETHTOOL_GDRVINFO on eth0: No such device"));
  EXPECT_EQ(choice.hook, IngressHook::kXdp);
  EXPECT_EQ(FormatIngressChoice(choice),
            "ingress: xdp (auto: driver unknown (ETHTOOL_GDRVINFO on eth0: No "
            "such device); XDP, as for any driver but veth)");
}

TEST(XdpDeliveryWarningTest, OnlyXdpDeliveryOnAVethWarns) {
  auto driver_is = [](absl::StatusOr<std::string> name) {
    return [name] { return name; };
  };
  UnderlayOptions o;
  o.iface = "ul0";
  EXPECT_EQ(XdpDeliveryWarning(o, driver_is(std::string("veth"))), "");
  o.xdp_deliver = true;
  EXPECT_EQ(XdpDeliveryWarning(o, driver_is(std::string("veth"))),
            "warning: --decap-delivery=xdp on the veth ul0: XDP_REDIRECT "
            "drops the skb's checksum state, so TCP that another namespace "
            "of this machine sends with tx checksumming on arrives "
            "unfinished and is dropped; turn it off on the sending side's "
            "underlay (ethtool -K IFACE tx off) or use --decap-delivery=tc");
  // A NIC finishes the sender's checksum on the wire; an unknown driver is
  // taken for a NIC, as ChooseIngress does.
  EXPECT_EQ(XdpDeliveryWarning(o, driver_is(std::string("ixgbe"))), "");
  EXPECT_EQ(XdpDeliveryWarning(o, driver_is(absl::NotFoundError("gone"))), "");
}

TEST(ChooseIngressTest, ForcedHooksAndXdpOnlyOptionsSkipTheDriver) {
  bool asked = false;
  auto veth = [&]() -> absl::StatusOr<std::string> {
    asked = true;
    return std::string("veth");
  };
  UnderlayOptions o;
  o.ingress = IngressHook::kXdp;
  EXPECT_EQ(FormatIngressChoice(ChooseIngress(o, veth)),
            "ingress: xdp (--ingress=xdp)");
  o.ingress = IngressHook::kTc;
  EXPECT_EQ(FormatIngressChoice(ChooseIngress(o, veth)),
            "ingress: tc (--ingress=tc)");
  // --decap-delivery=xdp and --xdp-mode=skb only mean something with XDP.
  o.ingress = IngressHook::kAuto;
  o.xdp_deliver = true;
  EXPECT_EQ(FormatIngressChoice(ChooseIngress(o, veth)),
            "ingress: xdp (auto: --decap-delivery=xdp needs XDP)");
  o.xdp_deliver = false;
  o.mode = XdpMode::kSkb;
  EXPECT_EQ(FormatIngressChoice(ChooseIngress(o, veth)),
            "ingress: xdp (auto: --xdp-mode=skb asks for XDP)");
  EXPECT_FALSE(asked);
  o.mode = XdpMode::kNative;
  EXPECT_EQ(FormatIngressChoice(ChooseIngress(o, veth)),
            "ingress: tc (auto: driver veth; XDP on a veth disables GSO on its "
            "peer)");
  EXPECT_TRUE(asked);
}

TEST(UnderlayOptionsFromFlagsTest, OneSentenceErrors) {
  CliFlags base;
  base.iface = "eth0";
  base.vtep = "192.168.50.1";
  struct Case {
    void (*mutate)(CliFlags&);
    const char* message;
  } cases[] = {
      {[](CliFlags& f) { f.vtep = "fe80::1"; },
       "--vtep: 'fe80::1' is not an IPv4 address"},
      {[](CliFlags& f) { f.vtep = ""; }, "--vtep: '' is not an IPv4 address"},
      {[](CliFlags& f) { f.vtep = "0.0.0.0"; },
       "--vtep: '0.0.0.0' is not a unicast IPv4 address"},
      {[](CliFlags& f) { f.vtep = "239.1.1.1"; },
       "--vtep: '239.1.1.1' is not a unicast IPv4 address"},
      {[](CliFlags& f) { f.iface = ""; }, "--iface is required"},
      {[](CliFlags& f) { f.xdp_mode = "hw"; },
       "--xdp-mode: 'hw' is not native or skb"},
      {[](CliFlags& f) { f.vxlan_port = 70000; },
       "--vxlan-port: 70000 is not in 1-65535"},
      {[](CliFlags& f) { f.sport_range = "9-1"; },
       "--sport-range: '9-1' is not a port range MIN-MAX with 1 <= MIN <= "
       "MAX <= 65535"},
      {[](CliFlags& f) { f.decap_delivery = "bpf"; },
       "--decap-delivery: 'bpf' is not tc or xdp"},
      {[](CliFlags& f) { f.ingress = "nic"; },
       "--ingress: 'nic' is not auto, xdp or tc"},
      {[](CliFlags& f) {
         f.ingress = "tc";
         f.decap_delivery = "xdp";
       },
       "--decap-delivery=xdp needs --ingress=xdp (with --ingress=tc no XDP "
       "program runs)"},
      {[](CliFlags& f) { f.big_tcp = 65535; },
       "--big-tcp: 65535 is not a size in bytes from 65536 (BIG TCP off) to "
       "524280, or 0 (leave the device as it is)"},
      {[](CliFlags& f) { f.big_tcp = 524281; },
       "--big-tcp: 524281 is not a size in bytes from 65536 (BIG TCP off) to "
       "524280, or 0 (leave the device as it is)"},
      {[](CliFlags& f) { f.big_tcp = -196608; },
       "--big-tcp: -196608 is not a size in bytes from 65536 (BIG TCP off) to "
       "524280, or 0 (leave the device as it is)"},
  };
  for (const Case& c : cases) {
    CliFlags f = base;
    c.mutate(f);
    auto o = UnderlayOptionsFromFlags(f);
    ASSERT_FALSE(o.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(o.status()));
    EXPECT_EQ(o.status().message(), c.message);
  }
}

TEST(UnderlayOptionsFromFlagsTest, BigTcpSizesFromOffToTheKernelsCeiling) {
  CliFlags f;
  f.iface = "eth0";
  f.vtep = "192.168.50.1";
  for (int64_t size : {0, 65536, 196608, 524280}) {
    f.big_tcp = size;
    auto o = UnderlayOptionsFromFlags(f);
    ASSERT_TRUE(o.ok()) << size << ": " << o.status();
    EXPECT_EQ(o->big_tcp, size);
  }
}

TEST(BigTcpTest, GsoSizeIsCappedAtTheDriversTsoMax) {
  EXPECT_EQ(GsoSizeFor(196608, 524280), 196608u);  // veth
  EXPECT_EQ(GsoSizeFor(196608, 65536), 65536u);    // a NIC without it
  EXPECT_EQ(GsoSizeFor(196608, 0), 196608u);       // not reported: the kernel
}

TEST(CliTest, BigTcpIsAnUnderlayFlag) {
  std::ostringstream out, err;
  CliFlags f;
  f.endpoint = true;
  f.iface = "veth-web1";
  f.big_tcp = 196608;
  EXPECT_EQ(loader::Run({"attach"}, f, out, err), 1);
  EXPECT_EQ(err.str(),
            "ovx-loader attach: --big-tcp is for the underlay; a container's "
            "veth pair is its runtime's to size (docs/loader.md, \"BIG "
            "TCP\")\n");
}

TEST(CliTest, HelpNamesEveryCommandAndFlag) {
  std::string help = HelpText();
  for (const Command& c : Commands()) EXPECT_THAT(help, HasSubstr(c.name));
  for (const char* flag :
       {"--iface", "--vtep", "--xdp-mode", "--vxlan-port", "--sport-range",
        "--decap-delivery", "--ingress", "--big-tcp", "--endpoint", "--all",
        "--purge-maps", "--json", "--bpffs", "--verbose",
        "e.g. ovx-loader attach --iface=eth0"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
}

TEST(CliTest, UnknownCommandAndStrayArguments) {
  std::ostringstream out, err;
  EXPECT_EQ(loader::Run({"frobnicate"}, CliFlags{}, out, err), 2);
  EXPECT_EQ(err.str(),
            "ovx-loader: unknown command 'frobnicate' (try 'ovx-loader "
            "help')\n");
  err.str("");
  EXPECT_EQ(loader::Run({"status", "eth0"}, CliFlags{}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("unexpected argument 'eth0'"));
  EXPECT_EQ(loader::Run({"help"}, CliFlags{}, out, err), 0);
  EXPECT_EQ(out.str(), HelpText());
}

TEST(CliTest, DetachNeedsATarget) {
  std::ostringstream out, err;
  CliFlags f;
  f.purge_maps = true;
  // Privileges are checked first: as non-root this says so instead.
  int rc = loader::Run({"detach"}, f, out, err);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(err.str(), testing::AnyOf(HasSubstr("--purge-maps needs --all"),
                                        HasSubstr("must run as root")));
}

TEST(PinNameTest, DotsAreEncodedReversibly) {
  EXPECT_EQ(EncodePinName("eth0.100"), "eth0%2e100");
  EXPECT_EQ(EncodePinName("a%b"), "a%25b");
  for (const char* name : {"eth0", "eth0.100", "a%2eb", "x.%y."}) {
    EXPECT_EQ(DecodePinName(EncodePinName(name)), name);
    EXPECT_EQ(EncodePinName(name).find('.'), std::string::npos);
  }
}

NodeStatus SampleStatus() {
  NodeStatus s;
  s.bpffs = "/sys/fs/bpf/ovx";
  s.attached = true;
  s.config = {"192.168.50.1", "eth0", 2,     4789,   49152,
              65535,          false,  false, 196608, 65536};
  s.interfaces = {{"eth0", 2, "xdp", "xdp_underlay", 41, 40, "native"},
                  {"eth0", 2, "tcx-ingress", "tc_underlay", 42, 7, ""},
                  {"veth-web1", 0, "tcx-ingress", "tc_endpoint", 43, 8, ""}};
  s.maps = {{"endpoints", 11, "hash", 3, 262144},
            {"events", 17, "ringbuf", -1, 262144}};
  s.counters = {{"ingress", "unknown-vtep", true, 5, 500}};
  return s;
}

TEST(StatusFormatTest, TableHasConfigRowsAndCounters) {
  std::string table = FormatStatusTable(SampleStatus());
  EXPECT_THAT(table, HasSubstr("underlay: eth0 (ifindex 2)  vtep: 192.168.50.1"
                               "  vxlan port: 4789  source ports: 49152-65535"
                               "  decap delivery: tc  ingress: xdp"));
  EXPECT_THAT(table, HasSubstr("underlay ipv4 gso/gro max size: 196608 / "
                               "65536 (BIG TCP)\n"));
  EXPECT_THAT(table, HasSubstr("dispatcher 40"));
  EXPECT_THAT(table, HasSubstr("veth-web1  gone"));
  EXPECT_THAT(table, HasSubstr("events     17  ringbuf  -        262144"));
  EXPECT_THAT(table, HasSubstr("ingress    unknown-vtep  drop  5        500"));
}

TEST(StatusFormatTest, JsonForScripts) {
  nlohmann::json j = StatusToJson(SampleStatus());
  EXPECT_EQ(j["config"]["vtep"], "192.168.50.1");
  EXPECT_EQ(j["config"]["decap_delivery"], "tc");
  EXPECT_EQ(j["config"]["ingress"], "xdp");
  EXPECT_EQ(j["config"]["gso_ipv4_max_size"], 196608);
  EXPECT_EQ(j["config"]["gro_ipv4_max_size"], 65536);
  EXPECT_EQ(j["interfaces"][0]["dispatcher_id"], 40);
  EXPECT_EQ(j["interfaces"][1]["link_id"], 7);
  EXPECT_EQ(j["maps"][0]["entries"], 3);
  EXPECT_TRUE(j["maps"][1]["entries"].is_null());
  EXPECT_EQ(j["counters"][0]["reason"], "unknown-vtep");
  EXPECT_EQ(j["counters"][0]["drop"], true);
}

TEST(MapNamesTest, EveryPinnedMapOfEveryObjectIsKnown) {
  for (const char* name : {"xdp_underlay", "tc_endpoint", "tc_underlay"}) {
    std::string path = absl::StrCat(OVX_BPF_DIR, "/", name, ".bpf.o");
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    ASSERT_EQ(libbpf_get_error(obj), 0) << path;
    size_t pinned = 0;
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      std::string map_name = bpf_map__name(map);
      if (bpf_map__pin_path(map) == nullptr) continue;  // object-private
      ++pinned;
      EXPECT_NE(std::find(kMapNames.begin(), kMapNames.end(), map_name),
                kMapNames.end())
          << name << " pins " << map_name << ", which kMapNames lacks";
    }
    EXPECT_EQ(pinned, kMapNames.size()) << name;
    bpf_object__close(obj);
  }
}

TEST(StatusFormatTest, DropEventLineAndJson) {
  ovx_drop_event e{};
  e.timestamp_ns = 12000000345ULL;
  e.reason = OVX_DROP_UNKNOWN_VTEP;
  e.dir = OVX_DIR_INGRESS;
  e.ifindex = 3;
  e.vni = 100;
  e.family = OVX_AF_INET;
  e.proto = 17;
  e.dport = htons(4789);
  e.saddr[0] = htonl(0xc0a83202);  // 192.168.50.2
  e.daddr[0] = htonl(0xc0a83201);
  EXPECT_EQ(FormatDropEvent(e),
            "12.000000345 ingress unknown-vtep ifindex 3 vni 100 "
            "192.168.50.2 -> 192.168.50.1 proto 17 dport 4789");
  nlohmann::json j = DropEventToJson(e);
  EXPECT_EQ(j["reason"], "unknown-vtep");
  EXPECT_EQ(j["src"], "192.168.50.2");
  EXPECT_EQ(j["dport"], 4789);
}

}  // namespace
}  // namespace ovx::loader
