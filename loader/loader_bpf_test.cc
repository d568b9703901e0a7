// Kernel tests of the loader: every test runs in a fresh network namespace
// with veth pairs, and pins under its own directory of a bpffs that this
// process mounts in a private mount namespace (gone when the process ends).
// Needs root; fails under CI=true when it cannot run, skips otherwise.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loader/cli.h"
#include "loader/kernel.h"
#include "loader/loader.h"
#include "maps/fd.h"
#include "nlohmann/json.hpp"
#include "tests/bpf/old_endpoint_slots.h"

namespace ovx::loader {
namespace {

using ::testing::HasSubstr;

std::string g_mnt;  // the test bpffs mount, set by the environment

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

class BpffsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (geteuid() != 0) return;
    ASSERT_EQ(unshare(CLONE_NEWNS), 0) << "unshare mount namespace";
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    g_mnt = absl::StrCat("/tmp/ovx-loader-test-", getpid());
    ASSERT_EQ(mkdir(g_mnt.c_str(), 0700), 0);
    ASSERT_EQ(mount("bpf", g_mnt.c_str(), "bpf", 0, "mode=0700"), 0);
    // libxdp settles on one bpffs per process: give it the mount itself.
    setenv("LIBXDP_BPFFS", g_mnt.c_str(), 1);
    BridgeLibraryLogs(std::getenv("OVX_TEST_VERBOSE") != nullptr);
  }
  void TearDown() override {
    if (g_mnt.empty()) return;
    umount2(g_mnt.c_str(), MNT_DETACH);
    rmdir(g_mnt.c_str());
  }
};

int Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string ShOut(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (rc != nullptr) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Program ids on iface's tcx ingress, from the kernel (bpftool 7.1 predates
// tcx).
std::vector<uint32_t> TcxProgIds(const char* iface) {
  uint32_t ids[16] = {};
  uint32_t count = 16;
  int ifindex = static_cast<int>(if_nametoindex(iface));
  if (bpf_prog_query(ifindex, kTcxIngress, 0, nullptr, ids, &count) != 0) {
    return {};
  }
  return std::vector<uint32_t>(ids, ids + count);
}

// How many ovx XDP programs run on iface, dispatcher or not.
std::string OvxXdpCount(const char* iface) {
  return ShOut(
      absl::StrCat("xdp-loader status ", iface, " | grep -c ovx_xdp_underla"));
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      if (InCi()) FAIL() << "loader bpf tests need root (CI=true)";
      GTEST_SKIP() << "needs root";
    }
    ASSERT_FALSE(g_mnt.empty());
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare network namespace";
    ASSERT_EQ(Sh("ip link set lo up && "
                 "ip link add ovxu0 type veth peer name ovxu1 && "
                 "ip link add ovxe0 type veth peer name ovxe1 && "
                 "ip link set ovxu0 up && ip link set ovxu1 up && "
                 "ip link set ovxe0 up && ip link set ovxe1 up"),
              0);
    bpffs_ = absl::StrCat(
        g_mnt, "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    options_.bpffs = bpffs_;
    options_.iface = "ovxu0";
    options_.vtep = "192.168.50.1";
    options_.mode = XdpMode::kNative;
    options_.ingress = IngressHook::kXdp;  // TcIngress* tests switch it
  }
  void TearDown() override {
    if (bpffs_.empty()) return;
    // The netns dies with its veths (links go defunct); drop our pins.
    DetachAll(bpffs_, DetachAllOptions{/*purge_maps=*/true}).IgnoreError();
    Sh(absl::StrCat("rm -rf ", bpffs_));
  }

  NodeStatus Status() {
    auto status = GetStatus(bpffs_);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : NodeStatus{};
  }
  static const AttachedInterface* Find(const NodeStatus& s,
                                       absl::string_view iface,
                                       absl::string_view program) {
    for (const AttachedInterface& i : s.interfaces) {
      if (i.iface == iface && i.program == program) return &i;
    }
    return nullptr;
  }
  static std::map<std::string, uint32_t> MapIds(const NodeStatus& s) {
    std::map<std::string, uint32_t> ids;
    for (const MapStatus& m : s.maps) ids[m.name] = m.id;
    return ids;
  }
  uint32_t PinnedProgId(absl::string_view name) {
    auto fd = OpenPin(ProgPin(bpffs_, name));
    if (!fd.ok()) return 0;
    auto state = ReadProgState(fd->get());
    return state.ok() ? state->id : 0;
  }
  bool Pinned(const std::string& path) {
    return access(path.c_str(), F_OK) == 0;
  }

  std::string bpffs_;
  UnderlayOptions options_;
};

TEST_F(LoaderTest, AttachShowsInStatusAndPinsEverything) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  EXPECT_TRUE(CheckNodeAttached(bpffs_).ok());

  NodeStatus s = Status();
  EXPECT_TRUE(s.attached);
  EXPECT_EQ(s.config.vtep, "192.168.50.1");
  EXPECT_EQ(s.config.underlay_iface, "ovxu0");
  EXPECT_EQ(s.config.underlay_ifindex, if_nametoindex("ovxu0"));
  EXPECT_EQ(s.config.vxlan_port, 4789);
  EXPECT_EQ(s.config.sport_min, 49152);
  EXPECT_EQ(s.config.sport_max, 65535);
  EXPECT_FALSE(s.config.xdp_deliver);
  const AttachedInterface* xdp = Find(s, "ovxu0", "xdp_underlay");
  ASSERT_NE(xdp, nullptr);
  EXPECT_EQ(xdp->hook, "xdp");
  EXPECT_EQ(xdp->mode, "native");
  EXPECT_NE(xdp->prog_id, 0u);
  const AttachedInterface* tcx = Find(s, "ovxu0", "tc_underlay");
  ASSERT_NE(tcx, nullptr);
  EXPECT_EQ(tcx->hook, "tcx-ingress");
  EXPECT_EQ(tcx->prog_id, PinnedProgId(kTcUnderlayName));
  EXPECT_NE(tcx->link_id, 0u);
  ASSERT_EQ(s.maps.size(), kMapNames.size());
  for (const MapStatus& m : s.maps) EXPECT_NE(m.id, 0u) << m.name;

  // The kernel agrees: XDP and tcx programs on the underlay.
  EXPECT_THAT(ShOut("ip link show ovxu0"), HasSubstr("prog/xdp"));
  EXPECT_THAT(TcxProgIds("ovxu0"), ::testing::ElementsAre(tcx->prog_id));
  EXPECT_EQ(OvxXdpCount("ovxu0"), "1\n");
  EXPECT_TRUE(Pinned(absl::StrCat(bpffs_, "/endpoints")));
  EXPECT_TRUE(Pinned(LinkPin(bpffs_, kUnderlayLinkPrefix, "ovxu0")));
}

// --ingress=tc: tc_underlay alone; switching from XDP removes ovx's XDP
// program (it would decapsulate in front of a program no longer expecting
// it), and back again puts it in.
TEST_F(LoaderTest, TcIngressSwitchesXdpOffAndOn) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  EXPECT_EQ(OvxXdpCount("ovxu0"), "1\n");
  options_.ingress = IngressHook::kTc;
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  NodeStatus s = Status();
  EXPECT_TRUE(s.config.tc_ingress);
  EXPECT_EQ(Find(s, "ovxu0", "xdp_underlay"), nullptr);
  const AttachedInterface* tcx = Find(s, "ovxu0", "tc_underlay");
  ASSERT_NE(tcx, nullptr);
  EXPECT_EQ(tcx->prog_id, PinnedProgId(kTcUnderlayName));
  EXPECT_THAT(TcxProgIds("ovxu0"), ::testing::ElementsAre(tcx->prog_id));
  EXPECT_THAT(ShOut("ip link show ovxu0"), ::testing::Not(HasSubstr("xdp")));
  options_.ingress = IngressHook::kXdp;
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  EXPECT_FALSE(Status().config.tc_ingress);
  EXPECT_EQ(OvxXdpCount("ovxu0"), "1\n");
}

// The default: auto reads the underlay's driver; a veth gets TC ingress.
// Switching to xdp and back keeps the tcx link (never detached) and the
// maps; only ovx's XDP program comes and goes.
TEST_F(LoaderTest, AutoOnAVethIsTcAndSwitchesToXdpAndBack) {
  options_.ingress = IngressHook::kAuto;
  IngressChoice choice = ResolveIngress(options_);
  EXPECT_EQ(choice.hook, IngressHook::kTc);
  EXPECT_THAT(choice.reason, HasSubstr("driver veth"));
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  NodeStatus tc = Status();
  EXPECT_TRUE(tc.config.tc_ingress);
  EXPECT_EQ(Find(tc, "ovxu0", "xdp_underlay"), nullptr);
  EXPECT_THAT(ShOut("ip link show ovxu0"), ::testing::Not(HasSubstr("xdp")));
  const AttachedInterface* tcx = Find(tc, "ovxu0", "tc_underlay");
  ASSERT_NE(tcx, nullptr);
  EXPECT_THAT(TcxProgIds("ovxu0"), ::testing::ElementsAre(tcx->prog_id));

  options_.ingress = IngressHook::kXdp;
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  NodeStatus xdp = Status();
  EXPECT_FALSE(xdp.config.tc_ingress);
  EXPECT_NE(Find(xdp, "ovxu0", "xdp_underlay"), nullptr);
  EXPECT_EQ(OvxXdpCount("ovxu0"), "1\n");
  const AttachedInterface* tcx_xdp = Find(xdp, "ovxu0", "tc_underlay");
  ASSERT_NE(tcx_xdp, nullptr);
  EXPECT_EQ(tcx_xdp->link_id, tcx->link_id);
  EXPECT_NE(tcx_xdp->prog_id, tcx->prog_id);  // other ovx_cfg flags
  EXPECT_EQ(MapIds(xdp), MapIds(tc));

  options_.ingress = IngressHook::kAuto;
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  NodeStatus again = Status();
  EXPECT_TRUE(again.config.tc_ingress);
  EXPECT_EQ(Find(again, "ovxu0", "xdp_underlay"), nullptr);
  EXPECT_THAT(ShOut("ip link show ovxu0"), ::testing::Not(HasSubstr("xdp")));
  const AttachedInterface* tcx_again = Find(again, "ovxu0", "tc_underlay");
  ASSERT_NE(tcx_again, nullptr);
  EXPECT_EQ(tcx_again->link_id, tcx->link_id);
  EXPECT_EQ(tcx_again->prog_id, PinnedProgId(kTcUnderlayName));
  EXPECT_EQ(MapIds(again), MapIds(tc));
}

TEST_F(LoaderTest, DriverNameAsEthtoolShowsIt) {
  auto veth = DriverName("ovxu0");
  ASSERT_TRUE(veth.ok()) << veth.status();
  EXPECT_EQ(*veth, "veth");
  auto gone = DriverName("ovx-nosuch");
  EXPECT_TRUE(absl::IsNotFound(gone.status())) << gone.status();
  EXPECT_THAT(gone.status().message(),
              HasSubstr("ETHTOOL_GDRVINFO on ovx-nosuch"));
  // lo has no driver to report: auto falls back to XDP and says why.
  UnderlayOptions lo = options_;
  lo.iface = "lo";
  lo.ingress = IngressHook::kAuto;
  IngressChoice choice = ResolveIngress(lo);
  EXPECT_EQ(choice.hook, IngressHook::kXdp);
  EXPECT_THAT(choice.reason,
              HasSubstr("auto: driver unknown (ETHTOOL_GDRVINFO on lo: "));
}

TEST_F(LoaderTest, SecondIdenticalAttachChangesNothing) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  ASSERT_TRUE(AttachEndpoint(bpffs_, "ovxe0").ok());
  NodeStatus before = Status();
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  ASSERT_TRUE(AttachEndpoint(bpffs_, "ovxe0").ok());
  NodeStatus after = Status();

  EXPECT_EQ(MapIds(before), MapIds(after));
  for (auto [iface, prog] :
       {std::pair{"ovxu0", "tc_underlay"}, std::pair{"ovxe0", "tc_endpoint"}}) {
    const AttachedInterface* b = Find(before, iface, prog);
    const AttachedInterface* a = Find(after, iface, prog);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->link_id, b->link_id) << prog;
    EXPECT_EQ(a->prog_id, b->prog_id) << prog;
  }
  const AttachedInterface* xb = Find(before, "ovxu0", "xdp_underlay");
  const AttachedInterface* xa = Find(after, "ovxu0", "xdp_underlay");
  ASSERT_NE(xb, nullptr);
  ASSERT_NE(xa, nullptr);
  if (xb->link_id == 0) {
    // Alone on the interface: an identical program is left in place.
    EXPECT_EQ(xa->prog_id, xb->prog_id);
  } else {
    // In libxdp's dispatcher: swapped for an equal one, still exactly one.
    EXPECT_EQ(OvxXdpCount("ovxu0"), "1\n");
  }
  EXPECT_EQ(after.interfaces.size(), before.interfaces.size());
}

TEST_F(LoaderTest, UpgradeKeepsMapsAndSwitchesEndpointLinksInPlace) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  ASSERT_TRUE(AttachEndpoint(bpffs_, "ovxe0").ok());
  NodeStatus before = Status();
  uint32_t old_endpoint_prog = PinnedProgId(kTcEndpointName);
  ASSERT_NE(old_endpoint_prog, 0u);

  // New program content (its ovx_cfg) = an upgrade; attach again.
  options_.vxlan_port = 8472;
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  NodeStatus after = Status();

  EXPECT_EQ(MapIds(before), MapIds(after));
  EXPECT_EQ(after.config.vxlan_port, 8472);
  uint32_t new_endpoint_prog = PinnedProgId(kTcEndpointName);
  EXPECT_NE(new_endpoint_prog, old_endpoint_prog);
  const AttachedInterface* eb = Find(before, "ovxe0", "tc_endpoint");
  const AttachedInterface* ea = Find(after, "ovxe0", "tc_endpoint");
  ASSERT_NE(eb, nullptr);
  ASSERT_NE(ea, nullptr);
  EXPECT_EQ(ea->link_id, eb->link_id);  // same link: never detached
  EXPECT_EQ(ea->prog_id, new_endpoint_prog);
  const AttachedInterface* ub = Find(before, "ovxu0", "tc_underlay");
  const AttachedInterface* ua = Find(after, "ovxu0", "tc_underlay");
  ASSERT_NE(ub, nullptr);
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(ua->link_id, ub->link_id);
  EXPECT_NE(ua->prog_id, ub->prog_id);
  EXPECT_EQ(ua->prog_id, PinnedProgId(kTcUnderlayName));
  const AttachedInterface* xb = Find(before, "ovxu0", "xdp_underlay");
  const AttachedInterface* xa = Find(after, "ovxu0", "xdp_underlay");
  ASSERT_NE(xb, nullptr);
  ASSERT_NE(xa, nullptr);
  EXPECT_NE(xa->prog_id, xb->prog_id);
  EXPECT_EQ(OvxXdpCount("ovxu0"), "1\n");
  EXPECT_THAT(TcxProgIds("ovxe0"), ::testing::ElementsAre(new_endpoint_prog));
}

TEST_F(LoaderTest, DetachRemovesLinksAndPinsButKeepsMaps) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  ASSERT_TRUE(AttachEndpoint(bpffs_, "ovxe0").ok());
  std::map<std::string, uint32_t> maps = MapIds(Status());

  ASSERT_TRUE(Detach(bpffs_, "ovxe0").ok());
  EXPECT_FALSE(Pinned(LinkPin(bpffs_, kEndpointLinkPrefix, "ovxe0")));
  EXPECT_THAT(TcxProgIds("ovxe0"), ::testing::IsEmpty());

  ASSERT_TRUE(Detach(bpffs_, "ovxu0").ok());
  EXPECT_FALSE(Pinned(LinkPin(bpffs_, kUnderlayLinkPrefix, "ovxu0")));
  EXPECT_THAT(ShOut("ip link show ovxu0"), ::testing::Not(HasSubstr("xdp")));
  EXPECT_THAT(TcxProgIds("ovxu0"), ::testing::IsEmpty());
  NodeStatus s = Status();
  EXPECT_EQ(Find(s, "ovxu0", "xdp_underlay"), nullptr);
  EXPECT_EQ(MapIds(s), maps);  // dataplane state kept

  absl::Status again = Detach(bpffs_, "ovxu0");
  EXPECT_TRUE(absl::IsNotFound(again));
  EXPECT_THAT(again.message(), HasSubstr("nothing attached to ovxu0"));

  ASSERT_TRUE(DetachAll(bpffs_, DetachAllOptions{/*purge_maps=*/true}).ok());
  EXPECT_FALSE(Pinned(absl::StrCat(bpffs_, "/endpoints")));
  EXPECT_FALSE(Pinned(ProgPin(bpffs_, kTcEndpointName)));
  EXPECT_FALSE(CheckNodeAttached(bpffs_).ok());
}

TEST_F(LoaderTest, EndpointLinkOfAGoneInterfaceIsReplaced) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  ASSERT_TRUE(AttachEndpoint(bpffs_, "ovxe0").ok());
  // The container goes away and a new one gets the same interface name.
  ASSERT_EQ(Sh("ip link del ovxe0 && "
               "ip link add ovxe0 type veth peer name ovxe1 && "
               "ip link set ovxe0 up"),
            0);
  ASSERT_TRUE(AttachEndpoint(bpffs_, "ovxe0").ok());
  const AttachedInterface* e = Find(Status(), "ovxe0", "tc_endpoint");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->ifindex, if_nametoindex("ovxe0"));
  EXPECT_THAT(TcxProgIds("ovxe0"), ::testing::ElementsAre(e->prog_id));
}

TEST_F(LoaderTest, ErrorsSayWhatIsWrong) {
  UnderlayOptions missing = options_;
  missing.iface = "ovx-nosuch";
  absl::Status status = AttachUnderlay(missing).status();
  EXPECT_TRUE(absl::IsNotFound(status));
  EXPECT_EQ(status.message(), "interface ovx-nosuch does not exist");

  status = AttachEndpoint(bpffs_, "ovxe0");
  EXPECT_TRUE(absl::IsFailedPrecondition(status));
  EXPECT_THAT(status.message(), HasSubstr("run 'ovx-loader attach"));
  EXPECT_THAT(CheckNodeAttached(bpffs_).message(),
              HasSubstr("node is not attached"));

  UnderlayOptions bad_vtep = options_;
  bad_vtep.vtep = "192.168.50";
  EXPECT_THAT(AttachUnderlay(bad_vtep).status().message(),
              HasSubstr("is not an IPv4 address"));

  UnderlayOptions bad_range = options_;
  bad_range.sport_min = 5000;
  bad_range.sport_max = 4000;
  EXPECT_THAT(AttachUnderlay(bad_range).status().message(),
              HasSubstr("bad source port range 5000-4000"));

  status = EnsureBpffs("/proc/ovx-not-here");
  EXPECT_TRUE(absl::IsFailedPrecondition(status));
  EXPECT_THAT(status.message(), HasSubstr("no bpffs at /proc/ovx-not-here"));
}

TEST_F(LoaderTest, RefusesASecondUnderlay) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  UnderlayOptions other = options_;
  other.iface = "ovxe0";
  absl::Status status = AttachUnderlay(other).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(status));
  EXPECT_THAT(status.message(),
              HasSubstr("ovx is already attached to underlay ovxu0"));
  EXPECT_THAT(ShOut("ip link show ovxe0"), ::testing::Not(HasSubstr("xdp")));
}

// Below /sys/fs/bpf the standard place gets mounted, as a systemd host has
// it. The mount lives in this process's private mount namespace.
TEST_F(LoaderTest, EnsureBpffsMountsTheStandardPlace) {
  std::string dir = absl::StrCat("/sys/fs/bpf/ovx-test-", getpid());
  ASSERT_TRUE(EnsureBpffs(dir).ok());
  EXPECT_THAT(ShOut("stat -f -c %T /sys/fs/bpf"), HasSubstr("bpf"));
  EXPECT_TRUE(Pinned(dir));
  EXPECT_TRUE(EnsureBpffs(dir).ok());  // again: nothing to do
  rmdir(dir.c_str());
}

TEST_F(LoaderTest, RefusesAnotherXdpProgram) {
  struct bpf_insn pass[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  maps::UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_XDP, "someone_else", "GPL",
                                    pass, 2, nullptr));
  ASSERT_TRUE(prog.valid());
  int ifindex = static_cast<int>(if_nametoindex("ovxu0"));
  ASSERT_EQ(bpf_xdp_attach(ifindex, prog.get(), XDP_FLAGS_DRV_MODE, nullptr),
            0);

  absl::Status status = AttachUnderlay(options_).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("ovxu0 already has an XDP program attached without "
                        "libxdp"));
  EXPECT_THAT(status.message(), HasSubstr("someone_else"));
  bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
}

TEST_F(LoaderTest, RefusesPinnedMapOfAnotherLayout) {
  ASSERT_EQ(mkdir(bpffs_.c_str(), 0700), 0);
  // An "older" endpoints map: same name, another value size.
  maps::UniqueFd old(bpf_map_create(BPF_MAP_TYPE_HASH, "endpoints",
                                    sizeof(ovx_endpoint_key), 32, 16, nullptr));
  ASSERT_TRUE(old.valid());
  ASSERT_EQ(bpf_obj_pin(old.get(), absl::StrCat(bpffs_, "/endpoints").c_str()),
            0);
  absl::Status status = AttachUnderlay(options_).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("incompatible ovx version"));
  EXPECT_THAT(status.message(), HasSubstr("--purge-maps"));
  // Nothing got attached.
  EXPECT_THAT(ShOut("ip link show ovxu0"), ::testing::Not(HasSubstr("xdp")));
}

// endpoint_slots2 replaced endpoint_slots (2^16 slots): an upgrade from a
// build with the old map switches every program to the new one, then
// unpins the old; a purge removes it too.
TEST_F(LoaderTest, UpgradeFromTheOldEndpointSlotsUnpinsThem) {
  ASSERT_EQ(mkdir(bpffs_.c_str(), 0700), 0);
  const std::string old_pin =
      absl::StrCat(bpffs_, "/", OVX_MAP_ENDPOINT_SLOTS_OLD);
  ASSERT_TRUE(ovx::testing::PinOldEndpointSlots(bpffs_).valid());

  absl::Status status = AttachUnderlay(options_).status();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_FALSE(Pinned(old_pin));
  EXPECT_TRUE(Pinned(absl::StrCat(bpffs_, "/", OVX_MAP_ENDPOINT_SLOTS)));
  EXPECT_EQ(MapIds(Status()).count(OVX_MAP_ENDPOINT_SLOTS), 1u);

  ASSERT_TRUE(ovx::testing::PinOldEndpointSlots(bpffs_).valid());
  ASSERT_TRUE(DetachAll(bpffs_, DetachAllOptions{/*purge_maps=*/true}).ok());
  EXPECT_FALSE(Pinned(old_pin));
}

TEST_F(LoaderTest, MonitorAndStatusReportADrop) {
  ASSERT_TRUE(AttachUnderlay(options_).ok());
  auto prog = OpenPin(ProgPin(bpffs_, kTcEndpointName));
  ASSERT_TRUE(prog.ok());
  // A frame from an interface that is no endpoint (the test run's skb
  // comes from lo): tc_endpoint drops it as unknown-interface.
  uint8_t frame[64] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame,
              .data_size_in = sizeof(frame));
  ASSERT_EQ(bpf_prog_test_run_opts(prog->get(), &run), 0);
  EXPECT_EQ(run.retval, 2u);  // TC_ACT_SHOT

  std::vector<ovx_drop_event> events;
  absl::Status status =
      Monitor(bpffs_, MonitorOptions{1, 1000}, [&](const ovx_drop_event& e) {
        events.push_back(e);
        return true;
      });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, static_cast<uint32_t>(OVX_DROP_UNKNOWN_IFACE));
  EXPECT_EQ(events[0].dir, static_cast<uint32_t>(OVX_DIR_EGRESS));

  // (The veths' own IPv6 chatter may move other counters.)
  const CounterStatus* drop = nullptr;
  NodeStatus s = Status();
  for (const CounterStatus& c : s.counters) {
    if (c.direction == "egress" && c.reason == "unknown-interface") drop = &c;
  }
  ASSERT_NE(drop, nullptr);
  EXPECT_TRUE(drop->drop);
  EXPECT_EQ(drop->packets, 1u);
  EXPECT_EQ(drop->bytes, sizeof(frame));

  // The same through the binary, as JSON lines.
  ASSERT_EQ(bpf_prog_test_run_opts(prog->get(), &run), 0);
  int rc = -1;
  std::string out = ShOut(absl::StrCat(OVX_LOADER_BIN,
                                       " monitor --count=1 "
                                       "--json --bpffs=",
                                       bpffs_),
                          &rc);
  EXPECT_EQ(rc, 0);
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  EXPECT_EQ(j["reason"], "unknown-interface") << out;
  EXPECT_EQ(j["direction"], "egress") << out;
}

TEST_F(LoaderTest, BinaryAttachStatusJsonAndErrors) {
  std::string bin = OVX_LOADER_BIN;
  std::string flags = absl::StrCat(" --bpffs=", bpffs_);
  int rc = -1;
  std::string out = ShOut(absl::StrCat(bin,
                                       " attach --iface=ovxu0 --vtep=10.1.1.1 "
                                       "--sport-range=50000-50100 "
                                       "--xdp-mode=skb",
                                       flags, " 2>&1"),
                          &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("ingress: xdp (auto: --xdp-mode=skb asks for "
                             "XDP)\n"));
  std::string json = ShOut(absl::StrCat(bin, " status --json", flags), &rc);
  ASSERT_EQ(rc, 0);
  nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["config"]["vtep"], "10.1.1.1");
  EXPECT_EQ(j["config"]["sport_min"], 50000);
  EXPECT_EQ(j["config"]["sport_max"], 50100);
  bool saw_skb = false;
  for (const auto& row : j["interfaces"]) {
    saw_skb |= row["hook"] == "xdp" && row["mode"] == "skb";
  }
  EXPECT_TRUE(saw_skb) << json;
  EXPECT_THAT(ShOut(absl::StrCat(bin, " status", flags)),
              HasSubstr("tc_underlay"));

  std::string err = ShOut(
      absl::StrCat(bin, " attach --iface=ovxu0 --vtep=nope", flags, " 2>&1"),
      &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err, "ovx-loader attach: --vtep: 'nope' is not an IPv4 address\n");
  err = ShOut(absl::StrCat(bin,
                           " attach --iface=ovxu0 --vtep=10.1.1.1 "
                           "--sport-range=9-1",
                           flags, " 2>&1"),
              &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(err, HasSubstr("'9-1' is not a port range"));
  // An skb-mode attachment cannot silently become native.
  err = ShOut(absl::StrCat(bin,
                           " attach --iface=ovxu0 --vtep=10.1.1.1 "
                           "--ingress=xdp",
                           flags, " 2>&1"),
              &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(err, HasSubstr("in skb mode"));
  // The default (auto) on a veth is TC ingress: it replaces the skb-mode
  // XDP, and says why.
  out = ShOut(absl::StrCat(bin, " attach --iface=ovxu0 --vtep=10.1.1.1", flags,
                           " 2>&1"),
              &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("ingress: tc (auto: driver veth; XDP on a veth "
                             "disables GSO on its peer)\n"));
  EXPECT_THAT(ShOut("ip link show ovxu0"), ::testing::Not(HasSubstr("xdp")));
  EXPECT_THAT(ShOut(absl::StrCat(bin, " status", flags)),
              HasSubstr("ingress: tc\n"));
  out = ShOut(absl::StrCat(bin,
                           " attach --iface=ovxu0 --vtep=10.1.1.1 "
                           "--ingress=xdp",
                           flags, " 2>&1"),
              &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("ingress: xdp (--ingress=xdp)\n"));
  EXPECT_THAT(ShOut("ip link show ovxu0"), HasSubstr("xdp"));
  json = ShOut(absl::StrCat(bin, " status --json", flags), &rc);
  EXPECT_EQ(nlohmann::json::parse(json)["config"]["ingress"], "xdp") << json;
}

}  // namespace
}  // namespace ovx::loader

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ovx::loader::BpffsEnvironment);
  return RUN_ALL_TESTS();
}
