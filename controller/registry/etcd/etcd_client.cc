#include "controller/registry/etcd/etcd_client.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ovx::controller::etcd {
namespace {

constexpr absl::string_view kScheme = "etcd://";

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHeaders = std::unique_ptr<curl_slist, SlistDeleter>;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// gRPC status codes as the gateway reports them in {"code":N}.
absl::StatusCode FromGrpcCode(int code) {
  if (code <= 0 || code > 16) return absl::StatusCode::kUnknown;
  return static_cast<absl::StatusCode>(code);
}

// Configures what every request shares; the caller adds the body.
CurlHandle NewHandle(const EtcdClientOptions& options, const std::string& url,
                     curl_slist* headers, char* error_buffer) {
  GlobalInit();
  CurlHandle handle(curl_easy_init());
  if (handle == nullptr) return handle;
  CURL* h = handle.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  // etcd is reached directly; an http_proxy meant for the outside must not
  // capture the registry.
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(
      h, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
  // A dead peer behind a silent network must not hang a watch forever.
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
  if (!options.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (!options.cert_file.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, options.cert_file.c_str());
  }
  if (!options.key_file.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLKEY, options.key_file.c_str());
  }
  return handle;
}

std::string CurlError(CURLcode code, const char* error_buffer) {
  if (error_buffer[0] != '\0') return error_buffer;
  return curl_easy_strerror(code);
}

// The gateway's error body: {"error":"...","code":N,"message":"..."}.
absl::Status GatewayError(long http_code, const std::string& body,
                          absl::string_view where) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message")) {
    int code = j.value("code", 2);
    return absl::Status(FromGrpcCode(code),
                        absl::StrCat(where, ": ", j.value("message", "")));
  }
  return absl::UnknownError(
      absl::StrCat(where, ": HTTP ", http_code, " (not an etcd v3 member?) ",
                   absl::StripAsciiWhitespace(body.substr(0, 200))));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEtcdUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "registry URL ", url, ": expected etcd://HOST:PORT[,HOST:PORT...]"));
  }
  std::vector<std::string> members;
  for (absl::string_view member : absl::StrSplit(rest, ',')) {
    member = absl::StripAsciiWhitespace(member);
    absl::ConsumeSuffix(&member, "/");
    size_t colon = member.rfind(':');
    uint32_t port = 0;
    if (member.empty() || colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(member.substr(colon + 1), &port) || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "registry URL ", url, ": member '", member, "' is not HOST:PORT"));
    }
    members.emplace_back(member);
  }
  return members;
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // the whole keyspace
}

std::string Base64(absl::string_view bytes) {
  return absl::Base64Escape(bytes);
}

absl::StatusOr<std::string> Unbase64(absl::string_view text) {
  std::string out;
  if (!absl::Base64Unescape(text, &out)) {
    return absl::DataLossError(absl::StrCat("bad base64 from etcd: ", text));
  }
  return out;
}

int64_t JsonInt64(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  int64_t value = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &value)) {
    return value;
  }
  return 0;
}

absl::StatusOr<KeyValue> DecodeKeyValue(const nlohmann::json& kv) {
  KeyValue out;
  absl::StatusOr<std::string> key = Unbase64(kv.value("key", ""));
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> value = Unbase64(kv.value("value", ""));
  if (!value.ok()) return value.status();
  out.key = *std::move(key);
  out.value = *std::move(value);
  out.create_revision = JsonInt64(kv, "create_revision");
  out.mod_revision = JsonInt64(kv, "mod_revision");
  return out;
}

EtcdClient::EtcdClient(EtcdClientOptions options)
    : options_(std::move(options)) {}

std::string EtcdClient::Describe() const {
  return absl::StrCat(kScheme, absl::StrJoin(options_.members, ","));
}

std::string EtcdClient::MemberUrl(size_t index, absl::string_view path) const {
  bool tls = !options_.ca_file.empty() || !options_.cert_file.empty() ||
             !options_.key_file.empty();
  return absl::StrCat(tls ? "https://" : "http://", options_.members[index],
                      path);
}

absl::StatusOr<nlohmann::json> EtcdClient::Call(absl::string_view path,
                                                const nlohmann::json& body) {
  // Members that answer "no leader" are in an election: wait it out (a few
  // election timeouts), unlike members that cannot be reached at all.
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  while (true) {
    bool electing = false;
    absl::StatusOr<nlohmann::json> result = CallOnce(path, body, &electing);
    if (result.ok() || !electing || absl::Now() > deadline) return result;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<nlohmann::json> EtcdClient::CallOnce(absl::string_view path,
                                                    const nlohmann::json& body,
                                                    bool* electing) {
  const std::string payload = body.dump();
  CurlHeaders headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  const size_t n = options_.members.size();
  const size_t start = current_.load();
  std::vector<std::string> failures;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (start + i) % n;
    const std::string url = MemberUrl(index, path);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    CurlHandle handle = NewHandle(options_, url, headers.get(), error_buffer);
    if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
    std::string response;
    CURL* h = handle.get();
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(payload.size()));
    curl_easy_setopt(
        h, CURLOPT_TIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, AppendToString);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      failures.push_back(absl::StrCat(options_.members[index], ": ",
                                      CurlError(rc, error_buffer)));
      continue;
    }
    long http_code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_code);
    if (http_code != 200) {
      absl::Status error = GatewayError(http_code, response, url);
      // A member without a leader or quorum: another one may do better.
      if (error.code() == absl::StatusCode::kUnavailable || http_code == 503) {
        *electing = true;
        failures.push_back(std::string(error.message()));
        continue;
      }
      return error;
    }
    nlohmann::json j = nlohmann::json::parse(response, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::DataLossError(
          absl::StrCat(url, ": response is not JSON: ", response));
    }
    current_.store(index);
    return j;
  }
  return absl::UnavailableError(
      absl::StrCat("no member of ", Describe(), " reachable (",
                   absl::StrJoin(failures, "; "), ")"));
}

absl::StatusOr<RangeResult> EtcdClient::RangePrefix(absl::string_view prefix) {
  return Range(prefix, PrefixEnd(prefix), 0, 0);
}

absl::StatusOr<RangeResult> EtcdClient::Range(absl::string_view key,
                                              absl::string_view range_end,
                                              int64_t limit, int64_t revision) {
  nlohmann::json body = {{"key", Base64(key)},
                         {"range_end", Base64(range_end)}};
  if (limit > 0) body["limit"] = std::to_string(limit);
  if (revision > 0) body["revision"] = std::to_string(revision);
  absl::StatusOr<nlohmann::json> j = Call("/v3/kv/range", body);
  if (!j.ok()) return j.status();
  RangeResult result;
  result.revision = JsonInt64((*j)["header"], "revision");
  result.more = j->value("more", false);
  if (j->contains("kvs")) {
    for (const nlohmann::json& kv : (*j)["kvs"]) {
      absl::StatusOr<KeyValue> decoded = DecodeKeyValue(kv);
      if (!decoded.ok()) return decoded.status();
      result.kvs.push_back(*std::move(decoded));
    }
  }
  return result;
}

absl::Status EtcdClient::RangePaged(
    absl::string_view key, absl::string_view range_end, int64_t page,
    int64_t* revision,
    const std::function<absl::Status(std::vector<KeyValue>&)>& each) {
  std::string from(key);
  while (true) {
    absl::StatusOr<RangeResult> r = Range(from, range_end, page, *revision);
    if (!r.ok()) return r.status();
    if (*revision == 0) *revision = r->revision;
    if (r->kvs.empty()) return absl::OkStatus();
    // The next page starts just after the last key (key + "\0").
    from = r->kvs.back().key;
    from.push_back('\0');
    const bool more = r->more;
    if (absl::Status s = each(r->kvs); !s.ok()) return s;
    if (!more) return absl::OkStatus();
  }
}

absl::StatusOr<TxnResult> EtcdClient::Txn(const nlohmann::json& txn) {
  absl::StatusOr<nlohmann::json> j = Call("/v3/kv/txn", txn);
  if (!j.ok()) return j.status();
  TxnResult result;
  result.succeeded = j->value("succeeded", false);
  result.revision = JsonInt64((*j)["header"], "revision");
  return result;
}

absl::Status EtcdClient::Put(absl::string_view key, absl::string_view value) {
  nlohmann::json body = {{"key", Base64(key)}, {"value", Base64(value)}};
  return Call("/v3/kv/put", body).status();
}

absl::Status EtcdClient::Compact(int64_t revision) {
  nlohmann::json body = {{"revision", std::to_string(revision)},
                         {"physical", true}};
  return Call("/v3/kv/compaction", body).status();
}

namespace {

struct StreamState {
  const std::function<bool(const nlohmann::json&)>* on_message = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::string buffer;
  bool received = false;  // any byte: the member answered
  bool finished = false;  // on_message asked to end the stream
  std::string bad_line;   // a line that was not JSON
};

size_t StreamWrite(char* data, size_t size, size_t count, void* opaque) {
  auto* state = static_cast<StreamState*>(opaque);
  state->received = true;
  state->buffer.append(data, size * count);
  // The gateway writes one JSON message per line.
  size_t newline;
  while ((newline = state->buffer.find('\n')) != std::string::npos) {
    std::string line = state->buffer.substr(0, newline);
    state->buffer.erase(0, newline + 1);
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      state->bad_line = line;
      return 0;
    }
    if (!(*state->on_message)(j)) {
      state->finished = true;
      return 0;  // aborts the transfer
    }
  }
  return size * count;
}

int StreamProgress(void* opaque, curl_off_t, curl_off_t, curl_off_t,
                   curl_off_t) {
  auto* state = static_cast<StreamState*>(opaque);
  return state->stop->load() ? 1 : 0;
}

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

// curl_easy_perform, but through a multi handle polled every 100 ms so that
// `stop` ends an idle stream at once (the progress callback alone only runs
// about once a second).
CURLcode PerformUntilStopped(CURL* h, const std::atomic<bool>& stop) {
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (multi == nullptr || curl_multi_add_handle(multi.get(), h) != CURLM_OK) {
    return CURLE_OUT_OF_MEMORY;
  }
  int running = 1;
  while (running > 0 && !stop.load()) {
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) break;
    if (running > 0) curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
  CURLcode rc = stop.load() ? CURLE_ABORTED_BY_CALLBACK : CURLE_RECV_ERROR;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
      rc = msg->data.result;
  }
  curl_multi_remove_handle(multi.get(), h);
  return rc;
}

}  // namespace

absl::Status EtcdClient::Stream(
    absl::string_view path, const nlohmann::json& body,
    const std::function<bool(const nlohmann::json&)>& on_message,
    const std::atomic<bool>& stop) {
  const std::string payload = body.dump();
  CurlHeaders headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  const size_t n = options_.members.size();
  const size_t start = current_.load();
  std::vector<std::string> failures;
  for (size_t i = 0; i < n && !stop.load(); ++i) {
    const size_t index = (start + i) % n;
    const std::string url = MemberUrl(index, path);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    CurlHandle handle = NewHandle(options_, url, headers.get(), error_buffer);
    if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
    StreamState state;
    state.on_message = &on_message;
    state.stop = &stop;
    CURL* h = handle.get();
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(payload.size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, StreamWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, StreamProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &state);
    CURLcode rc = PerformUntilStopped(h, stop);
    if (state.finished || stop.load()) return absl::OkStatus();
    if (!state.bad_line.empty()) {
      return absl::DataLossError(
          absl::StrCat(url, ": stream message is not JSON: ", state.bad_line));
    }
    long http_code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_code);
    if (rc == CURLE_OK && http_code != 200 && http_code != 0) {
      absl::Status error = GatewayError(http_code, state.buffer, url);
      if (error.code() != absl::StatusCode::kUnavailable) return error;
      failures.push_back(std::string(error.message()));
      continue;
    }
    if (state.received) {
      current_.store(index);
      return absl::UnavailableError(
          absl::StrCat(url, ": stream broke: ",
                       rc == CURLE_OK ? "closed by the server"
                                      : CurlError(rc, error_buffer)));
    }
    failures.push_back(absl::StrCat(
        options_.members[index], ": ",
        rc == CURLE_OK ? "empty response" : CurlError(rc, error_buffer)));
  }
  if (stop.load()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("no member of ", Describe(), " reachable (",
                   absl::StrJoin(failures, "; "), ")"));
}

}  // namespace ovx::controller::etcd
