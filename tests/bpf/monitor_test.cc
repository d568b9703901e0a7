// ovx-loader monitor against real drops: tc_endpoint is loaded with its maps
// pinned under a private bpffs, packets are dropped (policy, VXLAN from a
// container), then the built `ovx-loader monitor --json` must print one
// JSON line per drop with the reason, direction, ifindex, VNI, 5-tuple and
// identities.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/bpf/packet_test.h"
#include "tests/bpf/private_bpffs.h"

namespace ovx::testing {
namespace {

struct SkelDestroy {
  void operator()(tc_endpoint* s) const { tc_endpoint::destroy(s); }
};

// Runs a shell command, returns its stdout and exit status.
std::string Capture(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

TEST(MonitorTest, PrintsDropEventsAsJsonLines) {
  OVX_REQUIRE_ROOT();
  PrivateBpffs bpffs("monitor-test");
  ASSERT_TRUE(bpffs.ok()) << "mount bpffs on " << bpffs.dir();

  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = bpffs.dir().c_str();
  std::unique_ptr<tc_endpoint, SkelDestroy> skel(tc_endpoint__open_opts(&opts));
  ASSERT_NE(skel, nullptr);
  skel->rodata->ovx_cfg = NodeConfig(TheWorld());
  ASSERT_EQ(tc_endpoint__load(skel.get()), 0);
  const MapFds fds = FdsOf(skel->maps);
  ASSERT_TRUE(FillMaps(TheWorld(), fds).ok());
  uint32_t vni = kVniBlue;
  ovx_network deny{};
  deny.flags = OVX_NET_F_POLICY_DENY;
  deny.mtu = 1450;
  ASSERT_EQ(bpf_map_update_elem(fds.networks, &vni, &deny, BPF_ANY), 0);
  int prog = bpf_program__fd(skel->progs.ovx_tc_endpoint);

  // Two drops: no rule at all (policy), then VXLAN from the container.
  const Bytes denied =
      Packet().Eth(kMacA, kMacB).Ipv4(kIpA, kIpB).Tcp(40000, 5432).Build();
  const Bytes vxlan = Packet()
                          .Eth(kMacA, kMacB)
                          .Ipv4(kIpA, kIpB)
                          .Udp(41000, 4789)
                          .Payload("x")
                          .Build();
  for (const Bytes* in : {&denied, &vxlan}) {
    auto run = RunSkb(prog, *in, TheWorld().host_a);
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_EQ(run->retval, static_cast<uint32_t>(TC_ACT_SHOT));
  }

  // The ring keeps unread events for the next reader.
  int status = -1;
  std::string out =
      Capture(absl::StrCat("timeout 10 ", OVX_LOADER_BIN,
                           " monitor --json --count=2 --bpffs=", bpffs.dir()),
              &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "status " << status << ", output:\n"
      << out;
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out;

  auto first = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_FALSE(first.is_discarded()) << lines[0];
  EXPECT_EQ(first["reason"], "policy-denied");
  EXPECT_EQ(first["direction"], "egress");
  EXPECT_EQ(first["ifindex"], TheWorld().host_a);
  EXPECT_EQ(first["vni"], kVniBlue);
  EXPECT_EQ(first["src"], "10.10.0.1");
  EXPECT_EQ(first["dst"], "10.10.0.2");
  EXPECT_EQ(first["proto"], IPPROTO_TCP);
  EXPECT_EQ(first["sport"], 40000);
  EXPECT_EQ(first["dport"], 5432);
  EXPECT_EQ(first["src_identity"], kIdA);
  EXPECT_EQ(first["dst_identity"], kIdB);

  auto second = nlohmann::json::parse(lines[1], nullptr, false);
  ASSERT_FALSE(second.is_discarded()) << lines[1];
  EXPECT_EQ(second["reason"], "vxlan-from-container");
  EXPECT_EQ(second["direction"], "egress");
  EXPECT_EQ(second["proto"], IPPROTO_UDP);
  EXPECT_EQ(second["sport"], 41000);
  EXPECT_EQ(second["dport"], 4789);
  EXPECT_EQ(second["src_identity"], kIdA);
}

// Like `cilium monitor`: runs until interrupted, then exits cleanly (0).
TEST(MonitorTest, ExitsCleanlyOnSigintAndSigterm) {
  OVX_REQUIRE_ROOT();
  PrivateBpffs bpffs("monitor-test");
  ASSERT_TRUE(bpffs.ok()) << "mount bpffs on " << bpffs.dir();
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = bpffs.dir().c_str();
  std::unique_ptr<tc_endpoint, SkelDestroy> skel(tc_endpoint__open_opts(&opts));
  ASSERT_NE(skel, nullptr);
  ASSERT_EQ(tc_endpoint__load(skel.get()), 0);

  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(strsignal(sig));
    std::string flag = absl::StrCat("--bpffs=", bpffs.dir());
    char* argv[] = {const_cast<char*>(OVX_LOADER_BIN),
                    const_cast<char*>("monitor"), const_cast<char*>("--json"),
                    flag.data(), nullptr};
    pid_t pid;
    ASSERT_EQ(
        posix_spawn(&pid, OVX_LOADER_BIN, nullptr, nullptr, argv, environ), 0);
    // Long enough to be polling the ring (not still starting up).
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "monitor exited early";
    ASSERT_EQ(kill(pid, sig), 0);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    if (WIFEXITED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0);
    }
  }
}

}  // namespace
}  // namespace ovx::testing
