// Runs the ovxctl binary (path in argv[1]) against a temporary file registry.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ovx::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string g_ovxctl;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(int fd) {
  std::string s;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) s.append(buf, n);
  return s;
}

class OvxctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ovxctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/reg/registry.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // ovxctl --registry=file:<tmp> args...; `env_registry` instead sets
  // OVX_REGISTRY and passes no --registry.
  Result Run(std::vector<std::string> args, bool env_registry = false) {
    if (!env_registry) args.insert(args.begin(), "--registry=file:" + path_);
    args.insert(args.begin(), g_ovxctl);
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      if (env_registry) {
        ::setenv("OVX_REGISTRY", ("file:" + path_).c_str(), 1);
      } else {
        ::unsetenv("OVX_REGISTRY");
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    Result r;
    r.out = ReadAll(out[0]);  // small outputs: pipes do not fill up
    r.err = ReadAll(err[0]);
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return r;
  }

  // Runs a command that must succeed and returns its stdout.
  std::string Ok(std::vector<std::string> args) {
    Result r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }

  std::string File() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void Populate() {
    Ok({"network", "create", "blue", "--vni=100", "--subnet=10.10.0.0/24",
        "--gateway=10.10.0.1"});
    Ok({"node", "add", "host1", "--vtep=192.168.50.1"});
    Ok({"endpoint", "add", "web1", "--network=blue", "--node=host1",
        "--iface=veth-web1"});
  }

  std::string dir_;
  std::string path_;
};

TEST_F(OvxctlTest, HappyPathWithJson) {
  nlohmann::json net = nlohmann::json::parse(
      Ok({"network", "create", "blue", "--vni=100", "--subnet=10.10.0.0/24",
          "--gateway=10.10.0.1", "--mtu=1450", "--policy=deny", "--json"}));
  EXPECT_EQ(net["vni"], 100);
  EXPECT_EQ(net["mtu"], 1450);
  EXPECT_EQ(net["policy"], "deny");
  nlohmann::json node = nlohmann::json::parse(
      Ok({"node", "add", "host1", "--vtep=192.168.50.1", "--json"}));
  EXPECT_EQ(node["vtep"], "192.168.50.1");
  // Flags after or before the words, in any order.
  nlohmann::json ep = nlohmann::json::parse(
      Ok({"--json", "endpoint", "--labels=app=web,tier=front", "add", "web1",
          "--network=blue", "--node=host1", "--iface=veth-web1"}));
  EXPECT_EQ(ep["ip"], "10.10.0.2");  // .1 is the gateway
  EXPECT_THAT(ep["mac"].get<std::string>(), StartsWith("02:"));
  EXPECT_EQ(ep["labels"]["tier"], "front");
  ep = nlohmann::json::parse(
      Ok({"endpoint", "add", "web2", "--network=blue", "--node=host1",
          "--ip=10.10.0.9", "--mac=02:AA:BB:CC:DD:EE", "--json"}));
  EXPECT_EQ(ep["mac"], "02:aa:bb:cc:dd:ee");

  nlohmann::json ls = nlohmann::json::parse(Ok({"endpoint", "ls", "--json"}));
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0]["name"], "web1");
  EXPECT_EQ(
      nlohmann::json::parse(Ok({"endpoint", "ls", "--node=nohost", "--json"}))
          .size(),
      0u);
  EXPECT_EQ(nlohmann::json::parse(Ok({"network", "ls", "--json"}))[0]["name"],
            "blue");
  EXPECT_EQ(nlohmann::json::parse(Ok({"node", "ls", "--json"}))[0]["name"],
            "host1");

  nlohmann::json rm =
      nlohmann::json::parse(Ok({"endpoint", "rm", "web2", "--json"}));
  EXPECT_EQ(rm["removed"], "endpoint");
  EXPECT_EQ(rm["name"], "web2");
  Ok({"endpoint", "rm", "web1"});
  EXPECT_EQ(Ok({"network", "rm", "blue"}), "removed network blue\n");
  EXPECT_EQ(Ok({"node", "rm", "host1"}), "removed node host1\n");
  EXPECT_EQ(Ok({"endpoint", "ls", "--json"}), "[]\n");
  EXPECT_EQ(nlohmann::json::parse(File())["revision"], 8);
}

TEST_F(OvxctlTest, TablesAreAligned) {
  Populate();
  Ok({"endpoint", "add", "db-primary", "--network=blue", "--node=host1",
      "--labels=app=db"});
  EXPECT_EQ(Ok({"endpoint", "ls"}),
            "NAME        NETWORK  NODE   IP         MAC                "
            "IFACE      LABELS  IDENTITY\n"
            "db-primary  blue     host1  10.10.0.3  02:cd:0a:0a:00:03  "
            "-          app=db  257\n"
            "web1        blue     host1  10.10.0.2  02:cd:0a:0a:00:02  "
            "veth-web1  -       256\n");
  EXPECT_EQ(Ok({"network", "ls"}),
            "NAME  VNI  SUBNET        GATEWAY    MTU   POLICY  ENDPOINTS\n"
            "blue  100  10.10.0.0/24  10.10.0.1  auto  allow   2\n");
  EXPECT_EQ(Ok({"node", "ls"}),
            "NAME   VTEP          ENDPOINTS\n"
            "host1  192.168.50.1  2\n");
}

TEST_F(OvxctlTest, RegistryFromEnvironment) {
  Result r =
      Run({"network", "create", "blue", "--vni=7", "--subnet=10.7.0.0/16"},
          /*env_registry=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(File(), HasSubstr("\"vni\": 7"));
}

TEST_F(OvxctlTest, HelpListsCommandsAndExamples) {
  Result r = Run({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"network create NAME --vni=N --subnet=CIDR",
                        "endpoint add NAME --network=NET --node=NODE",
                        "node rm NAME", "--registry=URL", "examples:"}) {
    EXPECT_THAT(r.out, HasSubstr(s));
  }
}

struct BadCase {
  std::vector<std::string> args;
  std::string error;  // the whole stderr, without "ovxctl: " and newline
};

TEST_F(OvxctlTest, BadInputFailsWithOneLineAndChangesNothing) {
  Populate();
  const BadCase cases[] = {
      {{"network", "create", "red", "--vni=100", "--subnet=10.11.0.0/24"},
       "network red: --vni=100 is already used by network blue"},
      {{"network", "create", "red", "--vni=abc", "--subnet=10.11.0.0/24"},
       "network red: --vni=abc is not a number"},
      {{"network", "create", "red", "--vni=-1", "--subnet=10.11.0.0/24"},
       "network red: --vni=-1 is not a number"},
      {{"network", "create", "red", "--subnet=10.11.0.0/24"},
       "network red: --vni is required (1..16777215)"},
      {{"network", "create", "red", "--vni=5", "--subnet=10.11.0.1/24"},
       "network red: --subnet=10.11.0.1/24 is not a network address (did you "
       "mean 10.11.0.0/24?)"},
      {{"network", "create", "red", "--vni=5", "--subnet=10.11.0.0/24",
        "--policy=maybe"},
       "network red: --policy=maybe must be allow or deny"},
      {{"network", "create", "red", "--vni=5", "--subnet=10.11.0.0/24",
        "--mtu=20"},
       "network red: --mtu=20 is out of range 576..9000 (or 0: underlay MTU - "
       "50)"},
      {{"network", "create", "blue", "--vni=5", "--subnet=10.11.0.0/24"},
       "network blue already exists"},
      {{"network", "create"},
       "network create: takes one NAME, got 0 (usage: ovxctl network create "
       "NAME --vni=N --subnet=CIDR [--gateway=IP] [--mtu=N] "
       "[--policy=allow|deny])"},
      {{"network", "rm", "blue"},
       "network blue still has endpoints (web1): remove them first"},
      {{"network", "rm", "nope"}, "network nope does not exist"},
      {{"network", "frob"},
       "unknown command \"network frob\" (commands: network create, network "
       "ls, network rm, node add, node ls, node rm, endpoint add, endpoint "
       "ls, endpoint rm, policy add, policy ls, policy rm, migrate)"},
      {{}, "no command given (try: ovxctl --help)"},
      {{"node", "add", "host2", "--vtep=300.1.1.1"},
       "node host2: --vtep=300.1.1.1 is not an IPv4 address"},
      {{"node", "add", "host2", "--vtep=192.168.50.1"},
       "node host2: --vtep=192.168.50.1 is already used by node host1"},
      {{"node", "ls", "--vni=4"},
       "node ls: --vni does not apply (usage: ovxctl node ls)"},
      {{"node", "rm", "host1"},
       "node host1 still has endpoints (web1): remove them first"},
      {{"endpoint", "add", "web3", "--network=blue", "--node=host1",
        "--ip=10.20.0.5"},
       "endpoint web3: --ip=10.20.0.5 is outside network blue's subnet "
       "10.10.0.0/24"},
      {{"endpoint", "add", "web3", "--network=blue", "--node=host1",
        "--ip=10.10.0.2"},
       "endpoint web3: --ip=10.10.0.2 is already used by endpoint web1 in "
       "network blue"},
      {{"endpoint", "add", "web3", "--network=nope", "--node=host1"},
       "endpoint web3: --network=nope does not exist"},
      {{"endpoint", "add", "web3", "--network=blue", "--node=nope"},
       "endpoint web3: --node=nope does not exist"},
      {{"endpoint", "add", "web3", "--network=blue", "--node=host1",
        "--labels=app"},
       "endpoint web3: --labels=app: \"app\" is not key=value"},
      {{"endpoint", "add", "web3", "--network=blue", "--node=host1",
        "--mac=01:00:00:00:00:01"},
       "endpoint web3: --mac=01:00:00:00:00:01 is a multicast address"},
      {{"endpoint", "add", "web3", "--network=blue", "--node=host1",
        "--iface=veth-web1"},
       "endpoint web3: --iface=veth-web1 is already used by endpoint web1 on "
       "node host1"},
      {{"endpoint", "add", "web/3", "--network=blue", "--node=host1"},
       "endpoint \"web/3\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
      {{"endpoint", "add", "web3", "extra", "--network=blue", "--node=host1"},
       "endpoint add: takes one NAME, got 2 (usage: ovxctl endpoint add NAME "
       "--network=NET --node=NODE [--iface=IF] [--ip=IP] [--mac=MAC] "
       "[--labels=k=v,k=v])"},
      {{"endpoint", "rm", "nope"}, "endpoint nope does not exist"},
      {{"--registry=http://x", "network", "ls"},
       "registry URL \"http://x\" is not supported (want file:PATH or "
       "etcd://HOST:PORT[,HOST:PORT...])"},
  };
  const std::string before = File();
  ASSERT_FALSE(before.empty());
  for (const BadCase& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.args));
    Result r = Run(c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "ovxctl: " + c.error + "\n");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(File(), before);
  }
  // An unknown flag is gflags' error, still non-zero and harmless.
  Result r = Run({"node", "ls", "--bogus=1"});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("bogus"));
  EXPECT_EQ(File(), before);
}

TEST_F(OvxctlTest, PolicyHappyPath) {
  Populate();  // blue: allow, web1 (no labels)
  Ok({"network", "create", "red", "--vni=200", "--subnet=10.20.0.0/24",
      "--policy=deny"});
  nlohmann::json web =
      nlohmann::json::parse(Ok({"endpoint", "add", "rweb1", "--network=red",
                                "--node=host1", "--labels=app=web", "--json"}));
  EXPECT_EQ(web["identity"], 257);  // web1 in blue holds 256
  Ok({"endpoint", "add", "rweb2", "--network=red", "--node=host1",
      "--labels=app=web"});
  Ok({"endpoint", "add", "rdb1", "--network=red", "--node=host1",
      "--labels=app=db"});
  EXPECT_EQ(Ok({"endpoint", "ls", "--network=red"}),
            "NAME   NETWORK  NODE   IP         MAC                IFACE  "
            "LABELS   IDENTITY\n"
            "rdb1   red      host1  10.20.0.3  02:dc:0a:14:00:03  -      "
            "app=db   258\n"
            "rweb1  red      host1  10.20.0.1  02:dc:0a:14:00:01  -      "
            "app=web  257\n"
            "rweb2  red      host1  10.20.0.2  02:dc:0a:14:00:02  -      "
            "app=web  257\n");

  EXPECT_EQ(Ok({"policy", "add", "web-db", "--network=red", "--from=app=web",
                "--to=app=db", "--proto=tcp", "--port=5432"}),
            "NAME    NETWORK  FROM     TO      PROTO  PORT\n"
            "web-db  red      app=web  app=db  tcp    5432\n");
  nlohmann::json p = nlohmann::json::parse(
      Ok({"policy", "add", "ping", "--network=red", "--from=*", "--to=*",
          "--proto=icmp", "--json"}));
  EXPECT_EQ(p["from"], "*");
  EXPECT_EQ(p["port"], "");
  // Defaults: any protocol; a selector matching nobody yet is fine.
  p = nlohmann::json::parse(Ok({"policy", "add", "later", "--network=red",
                                "--from=app=mq", "--to=app=web", "--json"}));
  EXPECT_EQ(p["proto"], "any");
  Ok({"policy", "add", "range", "--network=red", "--from=app=web",
      "--to=app=db", "--proto=udp", "--port=8000-8999"});

  EXPECT_EQ(Ok({"policy", "ls"}),
            "NAME    NETWORK  FROM     TO       PROTO  PORT\n"
            "later   red      app=mq   app=web  any    -\n"
            "ping    red      *        *        icmp   -\n"
            "range   red      app=web  app=db   udp    8000-8999\n"
            "web-db  red      app=web  app=db   tcp    5432\n");
  nlohmann::json ls =
      nlohmann::json::parse(Ok({"policy", "ls", "--network=red", "--json"}));
  ASSERT_EQ(ls.size(), 4u);
  EXPECT_EQ(ls[3]["name"], "web-db");
  EXPECT_EQ(ls[3]["port"], "5432");
  EXPECT_EQ(Ok({"policy", "ls", "--network=blue", "--json"}), "[]\n");
  // Stored as printed.
  nlohmann::json doc = nlohmann::json::parse(File());
  EXPECT_EQ(doc["policies"]["web-db"]["to"], "app=db");
  EXPECT_EQ(doc["endpoints"]["rdb1"]["identity"], 258);

  EXPECT_EQ(Ok({"policy", "rm", "later"}), "removed policy later\n");
  EXPECT_EQ(nlohmann::json::parse(Ok({"policy", "rm", "ping", "--json"})),
            (nlohmann::json{{"removed", "policy"}, {"name", "ping"}}));
  EXPECT_EQ(nlohmann::json::parse(Ok({"policy", "ls", "--json"})).size(), 2u);
}

TEST_F(OvxctlTest, PolicyErrorsAreOneLineAndChangeNothing) {
  Populate();  // blue: allow
  Ok({"network", "create", "red", "--vni=200", "--subnet=10.20.0.0/24",
      "--policy=deny"});
  Ok({"endpoint", "add", "rweb1", "--network=red", "--node=host1",
      "--labels=app=web"});
  Ok({"policy", "add", "web-db", "--network=red", "--from=app=web",
      "--to=app=db", "--proto=tcp", "--port=5432"});
  auto add = [](std::vector<std::string> flags) {
    std::vector<std::string> args = {"policy", "add", "p2"};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  };
  const BadCase cases[] = {
      {add({"--network=red", "--from=app", "--to=app=db"}),
       "policy p2: --from=app is not a selector: \"app\" is not key=value "
       "(want k=v[,k=v...] or *)"},
      {add({"--network=red", "--from=*", "--to=app=db,,x=y"}),
       "policy p2: --to=app=db,,x=y is not a selector: \"\" is not key=value "
       "(want k=v[,k=v...] or *)"},
      {add({"--network=red", "--from=app=w!b", "--to=*"}),
       "policy p2: --from=app=w!b is not a selector: label app=w!b: value "
       "must be 0..63 characters of [a-zA-Z0-9._-]"},
      {add({"--network=red", "--to=*"}),
       "policy p2: --from is required (a selector such as app=web, or * for "
       "all)"},
      {add({"--network=red", "--from=*", "--to=*", "--proto=tcp", "--port=0"}),
       "policy p2: --port=0 is out of range 1..65535"},
      {add({"--network=red", "--from=*", "--to=*", "--proto=udp",
            "--port=65536"}),
       "policy p2: --port=65536 is out of range 1..65535"},
      {add({"--network=red", "--from=*", "--to=*", "--proto=tcp",
            "--port=9000-80"}),
       "policy p2: --port=9000-80 is an empty range: 9000 > 80"},
      {add({"--network=red", "--from=*", "--to=*", "--proto=tcp",
            "--port=http"}),
       "policy p2: --port=http is not a number (want N or N-M)"},
      {add({"--network=red", "--from=*", "--to=*", "--proto=icmp", "--port=7"}),
       "policy p2: --port=7 needs --proto=tcp or --proto=udp (icmp has no "
       "ports)"},
      {add({"--network=red", "--from=*", "--to=*", "--port=80"}),
       "policy p2: --port=80 needs --proto=tcp or --proto=udp (any has no "
       "ports)"},
      {add({"--network=red", "--from=*", "--to=*", "--proto=sctp"}),
       "policy p2: --proto=sctp must be tcp, udp, icmp or any"},
      {add({"--network=green", "--from=*", "--to=*"}),
       "policy p2: --network=green does not exist"},
      {add({"--from=*", "--to=*"}), "policy p2: --network is required"},
      {add({"--network=blue", "--from=*", "--to=*"}),
       "policy p2: --network=blue has --policy=allow, where everything is "
       "allowed and rules are ignored; rules apply to networks created with "
       "--policy=deny (ovxctl network create NAME --vni=N --subnet=CIDR "
       "--policy=deny)"},
      {{"policy", "add", "web-db", "--network=red", "--from=*", "--to=*"},
       "policy web-db already exists (network red)"},
      {{"policy", "add", "a b", "--network=red", "--from=*", "--to=*"},
       "policy \"a b\": name must be 1..63 characters of [a-zA-Z0-9._-]"},
      {{"policy", "rm", "nope"}, "policy nope does not exist"},
      {{"policy", "ls", "--from=*"},
       "policy ls: --from does not apply (usage: ovxctl policy ls "
       "[--network=NET])"},
      {{"network", "rm", "red"},
       "network red still has endpoints (rweb1): remove them first"},
  };
  const std::string before = File();
  ASSERT_FALSE(before.empty());
  for (const BadCase& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.args));
    Result r = Run(c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "ovxctl: " + c.error + "\n");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(File(), before);
  }
  Ok({"endpoint", "rm", "rweb1"});
  EXPECT_EQ(Run({"network", "rm", "red"}).err,
            "ovxctl: network red still has policies (web-db): remove them "
            "first\n");
}

TEST_F(OvxctlTest, MigrateCopiesIntoAnotherRegistry) {
  Populate();
  const std::string to = "file:" + dir_ + "/other/registry.json";
  nlohmann::json out =
      nlohmann::json::parse(Ok({"migrate", "--to=" + to, "--json"}));
  EXPECT_EQ(out["endpoints"], 1);
  EXPECT_EQ(out["to"], to);
  // The copy has the same records; running again is harmless.
  Result ls = Run({"--registry=" + to, "endpoint", "ls", "--json"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(ls.out, Ok({"endpoint", "ls", "--json"}));
  EXPECT_THAT(Ok({"migrate", "--to=" + to}), StartsWith("migrated 1 networks"));
  // A target holding something else is refused.
  Result r = Run({"--registry=" + to, "node", "add", "x", "--vtep=10.9.9.9"});
  ASSERT_EQ(r.code, 0) << r.err;
  Ok({"node", "add", "x", "--vtep=10.9.9.8"});
  r = Run({"migrate", "--to=" + to});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(Run({"migrate"}).err,
            "ovxctl: migrate: --to=URL is required (e.g. "
            "--to=etcd://127.0.0.1:2379)\n");
}

TEST_F(OvxctlTest, CorruptRegistryIsReportedAndKept) {
  std::filesystem::create_directories(dir_ + "/reg");
  std::ofstream(path_) << "{\"schema\": 1,\n\"revision\": }";
  const std::string before = File();
  Result r =
      Run({"network", "create", "blue", "--vni=1", "--subnet=10.1.0.0/24"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, StartsWith("ovxctl: registry " + path_ +
                                ": not valid JSON at line 2"));
  EXPECT_EQ(File(), before);
  EXPECT_EQ(Run({"endpoint", "ls"}).code, 1);
}

}  // namespace
}  // namespace ovx::controller

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::cerr << "usage: ovxctl_cli_test PATH_TO_OVXCTL\n";
    return 2;
  }
  ovx::controller::g_ovxctl = argv[1];
  return RUN_ALL_TESTS();
}
