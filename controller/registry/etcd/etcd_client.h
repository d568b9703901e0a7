// A small etcd v3 client over the gRPC-gateway JSON API (POST /v3/kv/...,
// /v3/watch) with libcurl: Debian ships no C++ etcd client. It knows the
// cluster's members and follows the cluster: a member that cannot be reached
// is skipped and the one that answers is remembered for the next call.
#ifndef OVX_CONTROLLER_REGISTRY_ETCD_ETCD_CLIENT_H_
#define OVX_CONTROLLER_REGISTRY_ETCD_ETCD_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace ovx::controller::etcd {

struct EtcdClientOptions {
  std::vector<std::string> members;  // "HOST:PORT"
  // TLS: any of these set switches every member to https.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration request_timeout = absl::Seconds(10);
};

// Parses "etcd://HOST:PORT[,HOST:PORT...]" into members.
absl::StatusOr<std::vector<std::string>> ParseEtcdUrl(absl::string_view url);

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

struct RangeResult {
  int64_t revision = 0;  // store revision the range was served at
  std::vector<KeyValue> kvs;
  bool more = false;  // a limited range left keys out after the last one
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
};

// The key just after every key that starts with `prefix` (etcd range_end).
std::string PrefixEnd(absl::string_view prefix);

// Base64 as etcd's JSON gateway wants bytes.
std::string Base64(absl::string_view bytes);
absl::StatusOr<std::string> Unbase64(absl::string_view text);

// Decodes a JSON KeyValue ({"key":b64,"value":b64,"mod_revision":"N",...}).
absl::StatusOr<KeyValue> DecodeKeyValue(const nlohmann::json& kv);

// int64 fields come as strings (proto3 JSON), zero values are omitted.
int64_t JsonInt64(const nlohmann::json& object, const char* field);

class EtcdClient {
 public:
  explicit EtcdClient(EtcdClientOptions options);

  // POSTs `body` to `path` ("/v3/kv/range") on the current member, moving to
  // the next member on a connection error or an unavailable member.
  absl::StatusOr<nlohmann::json> Call(absl::string_view path,
                                      const nlohmann::json& body);

  absl::StatusOr<RangeResult> RangePrefix(absl::string_view prefix);
  // [key, range_end) at `revision` (0: the current one), at most `limit`
  // keys (0: all).
  absl::StatusOr<RangeResult> Range(absl::string_view key,
                                    absl::string_view range_end, int64_t limit,
                                    int64_t revision);
  // Every key of [key, range_end) at one revision, `page` keys per request,
  // handed to `each` page by page. A large registry in one response is slow
  // for etcd's JSON gateway (about 5 s per 100,000 records here, over the
  // request timeout with its index keys) and big in memory; pages keep both
  // bounded. `*revision`: 0 to read at the current revision, which is then
  // stored there; non-zero to read at that one (several ranges, one view).
  absl::Status RangePaged(
      absl::string_view key, absl::string_view range_end, int64_t page,
      int64_t* revision,
      const std::function<absl::Status(std::vector<KeyValue>&)>& each);
  // `txn` is a TxnRequest in JSON ({"compare":[...],"success":[...]}).
  absl::StatusOr<TxnResult> Txn(const nlohmann::json& txn);
  absl::Status Put(absl::string_view key, absl::string_view value);
  absl::Status Compact(int64_t revision);

  // Opens a streaming call (the watch) on the first member that answers and
  // calls on_message for each JSON message until it returns false, `stop`
  // becomes true or the stream breaks. Returns OK when on_message or stop
  // ended it, Unavailable when no member could be reached or the stream
  // broke.
  absl::Status Stream(
      absl::string_view path, const nlohmann::json& body,
      const std::function<bool(const nlohmann::json&)>& on_message,
      const std::atomic<bool>& stop);

  // "etcd://127.0.0.1:2379,127.0.0.1:22379"
  std::string Describe() const;

 private:
  std::string MemberUrl(size_t index, absl::string_view path) const;
  // One round over the members; `electing` tells whether one of them was
  // reachable but without a leader.
  absl::StatusOr<nlohmann::json> CallOnce(absl::string_view path,
                                          const nlohmann::json& body,
                                          bool* electing);

  EtcdClientOptions options_;
  std::atomic<size_t> current_{0};  // the member that answered last
};

}  // namespace ovx::controller::etcd

#endif  // OVX_CONTROLLER_REGISTRY_ETCD_ETCD_CLIENT_H_
