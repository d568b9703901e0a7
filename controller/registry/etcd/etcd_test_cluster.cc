#include "controller/registry/etcd/etcd_test_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "controller/registry/etcd/etcd_client.h"

namespace ovx::controller::etcd {
namespace {

// A port the kernel just handed out on loopback; etcd binds it right after.
absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    close(fd);
    return absl::InternalError(
        absl::StrCat("bind loopback port: ", strerror(err)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

std::string FindEtcdBinary() {
  if (const char* env = getenv("OVX_ETCD"); env != nullptr && *env != '\0') {
    return access(env, X_OK) == 0 ? env : "";
  }
  const char* path = getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir, "/etcd");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  if (access("/usr/bin/etcd", X_OK) == 0) return "/usr/bin/etcd";
  return "";
}

absl::StatusOr<std::unique_ptr<EtcdTestCluster>> EtcdTestCluster::Start(
    int members, bool tls) {
  std::unique_ptr<EtcdTestCluster> cluster(new EtcdTestCluster());
  cluster->binary_ = FindEtcdBinary();
  if (cluster->binary_.empty()) {
    return absl::NotFoundError(
        "no etcd binary (install etcd-server or set OVX_ETCD)");
  }
  char root[] = "/tmp/ovx-etcd-test-XXXXXX";
  if (mkdtemp(root) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  cluster->root_ = root;
  cluster->tls_ = tls;
  if (tls) {
    if (absl::Status s = cluster->MakeCertificates(); !s.ok()) return s;
  }
  cluster->token_ =
      absl::StrCat("ovx-test-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
  std::vector<std::string> peers;
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = absl::StrCat("m", i);
    absl::StatusOr<int> client = FreePort();
    absl::StatusOr<int> peer = FreePort();
    if (!client.ok()) return client.status();
    if (!peer.ok()) return peer.status();
    m.client_port = *client;
    m.peer_port = *peer;
    m.data_dir = absl::StrCat(cluster->root_, "/", m.name);
    peers.push_back(absl::StrCat(m.name, "=http://127.0.0.1:", m.peer_port));
    cluster->members_.push_back(m);
  }
  cluster->initial_cluster_ = absl::StrJoin(peers, ",");
  for (Member& m : cluster->members_) {
    if (absl::Status s = cluster->Spawn(m); !s.ok()) return s;
  }
  for (const Member& m : cluster->members_) {
    if (absl::Status s = cluster->WaitReady(m); !s.ok()) return s;
  }
  return cluster;
}

EtcdTestCluster::~EtcdTestCluster() {
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) Kill(i);
  if (!root_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
}

absl::Status EtcdTestCluster::MakeCertificates() {
  // Server and client certificates both allow client auth: etcd 3.4's JSON
  // gateway dials the member's gRPC side with the server certificate.
  std::string script = absl::StrCat(
      "set -e; cd ", root_, "; exec >openssl.log 2>&1\n",
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
      "-days 2 "
      "-subj /CN=ovx-test-ca\n",
      "printf "
      "'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,"
      "clientAuth\\n'"
      " >ext.cnf\n",
      "for n in server client; do\n",
      "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj "
      "/CN=ovx-$n\n",
      "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
      "-out $n.crt -days 2 -extfile ext.cnf\n",
      "done\n");
  std::string path = root_ + "/certs.sh";
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("write ", path));
  fputs(script.c_str(), f);
  fclose(f);
  int status = system(absl::StrCat("sh ", path).c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("making test certificates with openssl failed, see ",
                     root_, "/openssl.log"));
  }
  return absl::OkStatus();
}

absl::Status EtcdTestCluster::Spawn(Member& m) {
  std::string client =
      absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", m.client_port);
  std::string peer = absl::StrCat("http://127.0.0.1:", m.peer_port);
  std::vector<std::string> args = {
      binary_,
      "--name",
      m.name,
      "--data-dir",
      m.data_dir,
      "--listen-client-urls",
      client,
      "--advertise-client-urls",
      client,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      initial_cluster_,
      "--initial-cluster-state",
      "new",
      "--initial-cluster-token",
      token_,
      // Short raft timers: failover in a test should take a moment, not 10s.
      "--heartbeat-interval",
      "50",
      "--election-timeout",
      "500",
  };
  if (tls_) {
    for (const std::string& arg :
         {std::string("--cert-file"), root_ + "/server.crt",
          std::string("--key-file"), root_ + "/server.key",
          std::string("--trusted-ca-file"), root_ + "/ca.crt",
          std::string("--client-cert-auth")}) {
      args.push_back(arg);
    }
  }
  std::string log = absl::StrCat(root_, "/", m.name, ".log");
  pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    // Dies with the test even when the test crashes before cleanup.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  m.pid = pid;
  return absl::OkStatus();
}

absl::Status EtcdTestCluster::WaitReady(const Member& m) {
  EtcdClientOptions options;
  options.members = {absl::StrCat("127.0.0.1:", m.client_port)};
  options.request_timeout = absl::Seconds(2);
  options.ca_file = ca_file();
  options.cert_file = cert_file();
  options.key_file = key_file();
  EtcdClient client(options);
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status last;
  while (absl::Now() < deadline) {
    int status = 0;
    if (m.pid > 0 && waitpid(m.pid, &status, WNOHANG) == m.pid) {
      return absl::InternalError(absl::StrCat(
          "etcd ", m.name, " exited early, see ", root_, "/", m.name, ".log"));
    }
    // A linearizable read only succeeds once the member has a leader.
    absl::StatusOr<RangeResult> r = client.RangePrefix("/ready-check/");
    if (r.ok()) return absl::OkStatus();
    last = r.status();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("etcd ", m.name, " not ready after 20s: ", last.message()));
}

std::string EtcdTestCluster::Url() const {
  std::vector<std::string> parts;
  for (const Member& m : members_)
    parts.push_back(absl::StrCat("127.0.0.1:", m.client_port));
  return absl::StrCat("etcd://", absl::StrJoin(parts, ","));
}

std::string EtcdTestCluster::MemberUrl(int member) const {
  return absl::StrCat("etcd://127.0.0.1:", members_[member].client_port);
}

std::string EtcdTestCluster::ClientUrl(int member) const {
  return absl::StrCat(tls_ ? "https" : "http",
                      "://127.0.0.1:", members_[member].client_port);
}

absl::StatusOr<int> EtcdTestCluster::Leader() const {
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
    if (members_[i].pid <= 0) continue;
    EtcdClient client(
        {.members = {absl::StrCat("127.0.0.1:", members_[i].client_port)},
         .ca_file = ca_file(),
         .cert_file = cert_file(),
         .key_file = key_file()});
    absl::StatusOr<nlohmann::json> status =
        client.Call("/v3/maintenance/status", {});
    if (!status.ok()) continue;
    const nlohmann::json& header = (*status)["header"];
    if (header.value("member_id", "") == status->value("leader", "-")) return i;
  }
  return absl::UnavailableError("no member says it is the leader");
}

void EtcdTestCluster::Kill(int member) {
  Member& m = members_[member];
  if (m.pid <= 0) return;
  kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

absl::Status EtcdTestCluster::Restart(int member) {
  Member& m = members_[member];
  if (m.pid > 0) return absl::FailedPreconditionError("member is running");
  if (absl::Status s = Spawn(m); !s.ok()) return s;
  return WaitReady(m);
}

int EtcdTestCluster::Etcdctl(const std::string& args) const {
  std::vector<std::string> endpoints;
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
    if (members_[i].pid > 0) endpoints.push_back(ClientUrl(i));
  }
  std::string cmd = absl::StrCat(
      "ETCDCTL_API=3 etcdctl --endpoints=", absl::StrJoin(endpoints, ","),
      tls_ ? absl::StrCat(" --cacert=", ca_file(), " --cert=", cert_file(),
                          " --key=", key_file())
           : "",
      " ", args, " >/dev/null 2>&1");
  int status = system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace ovx::controller::etcd
