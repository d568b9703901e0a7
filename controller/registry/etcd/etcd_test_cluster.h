// Real etcd members for tests: each on loopback with its own free ports and
// a temporary data dir, killed and removed when the cluster goes away (also
// when a test fails). The binary is $OVX_ETCD, else etcd from PATH.
#ifndef OVX_CONTROLLER_REGISTRY_ETCD_ETCD_TEST_CLUSTER_H_
#define OVX_CONTROLLER_REGISTRY_ETCD_ETCD_TEST_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ovx::controller::etcd {

// Path of the etcd binary, or empty when there is none.
std::string FindEtcdBinary();

class EtcdTestCluster {
 public:
  // Starts `members` members as one cluster and waits until it answers.
  // With `tls`, clients must speak https with a certificate from a CA made
  // for this cluster (openssl).
  static absl::StatusOr<std::unique_ptr<EtcdTestCluster>> Start(
      int members, bool tls = false);
  ~EtcdTestCluster();

  // etcd://127.0.0.1:A,127.0.0.1:B,...
  std::string Url() const;
  // etcd:// URL of one member only.
  std::string MemberUrl(int member) const;
  // http://127.0.0.1:A (for etcdctl --endpoints).
  std::string ClientUrl(int member) const;

  // Index of the member that is raft leader now.
  absl::StatusOr<int> Leader() const;

  // SIGKILL; the data dir stays.
  void Kill(int member);
  // Starts a killed member again on its data dir and waits for it.
  absl::Status Restart(int member);

  // TLS files for clients (empty without tls).
  std::string ca_file() const { return tls_ ? root_ + "/ca.crt" : ""; }
  std::string cert_file() const { return tls_ ? root_ + "/client.crt" : ""; }
  std::string key_file() const { return tls_ ? root_ + "/client.key" : ""; }

  // Runs etcdctl against member 0..n (all members), returns its exit code.
  int Etcdctl(const std::string& args) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    pid_t pid = -1;
  };
  EtcdTestCluster() = default;
  absl::Status Spawn(Member& m);
  absl::Status WaitReady(const Member& m);
  absl::Status MakeCertificates();

  std::string binary_;
  std::string root_;  // temp dir holding data dirs and logs
  std::string initial_cluster_;
  std::string token_;
  bool tls_ = false;
  std::vector<Member> members_;
};

}  // namespace ovx::controller::etcd

#endif  // OVX_CONTROLLER_REGISTRY_ETCD_ETCD_TEST_CLUSTER_H_
