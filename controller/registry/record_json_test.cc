#include "controller/registry/record_json.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ovx::controller {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

Snapshot Sample() {
  Snapshot s;
  s.revision = 42;
  s.networks["blue"] = Network{.name = "blue",
                               .vni = 100,
                               .subnet = "10.10.0.0/24",
                               .gateway = "10.10.0.1",
                               .mtu = 1450,
                               .policy = "deny"};
  s.nodes["host1"] = Node{.name = "host1", .vtep = "192.168.50.1"};
  s.endpoints["web1"] = Endpoint{.name = "web1",
                                 .network = "blue",
                                 .node = "host1",
                                 .ip = "10.10.0.5",
                                 .mac = "02:00:0a:0a:00:05",
                                 .iface = "veth-web1",
                                 .labels = {{"app", "web"}, {"tier", "front"}},
                                 .identity = 257};
  s.policies["p1"] = Policy{.name = "p1",
                            .network = "blue",
                            .from = "app=web",
                            .to = "*",
                            .proto = "tcp",
                            .port = "80"};
  return s;
}

TEST(RecordJson, EachRecordRoundTrips) {
  Snapshot s = Sample();
  json j = ToJson(s.networks["blue"]);
  EXPECT_EQ(j["schema"], kSchemaVersion);
  EXPECT_EQ(*FromJson<Network>(j), s.networks["blue"]);
  EXPECT_EQ(*FromJson<Node>(ToJson(s.nodes["host1"])), s.nodes["host1"]);
  EXPECT_EQ(*FromJson<Endpoint>(ToJson(s.endpoints["web1"])),
            s.endpoints["web1"]);
  EXPECT_EQ(*FromJson<Policy>(ToJson(s.policies["p1"])), s.policies["p1"]);
}

TEST(RecordJson, SnapshotRoundTripsThroughText) {
  Snapshot s = Sample();
  std::string text = SnapshotToJson(s).dump(2);
  absl::StatusOr<Snapshot> back = SnapshotFromJson(json::parse(text));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(RecordJson, GenericRecordRoundTrips) {
  Snapshot s = Sample();
  Record r = s.endpoints["web1"];
  EXPECT_EQ(KindOf(r), RecordKind::kEndpoint);
  EXPECT_EQ(NameOf(r), "web1");
  absl::StatusOr<Record> back =
      RecordFromJson(RecordKind::kEndpoint, RecordToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(std::get<Endpoint>(*back), s.endpoints["web1"]);
  EXPECT_EQ(*KindFromName("policy"), RecordKind::kPolicy);
  EXPECT_FALSE(KindFromName("bogus").ok());
}

TEST(RecordJson, NewerSchemaRefused) {
  json j = ToJson(Sample().networks["blue"]);
  j["schema"] = 7;
  absl::StatusOr<Network> n = FromJson<Network>(j);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.status().message(),
            "network blue: schema 7 is newer than this ovx (1)");

  json doc = SnapshotToJson(Sample());
  doc["schema"] = 2;
  absl::StatusOr<Snapshot> s = SnapshotFromJson(doc);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("schema 2 is newer"));

  doc = SnapshotToJson(Sample());
  doc["endpoints"]["web1"]["schema"] = 3;
  EXPECT_EQ(SnapshotFromJson(doc).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

struct BadType {
  const char* kind;
  const char* field;
  json value;
  const char* message;
};

TEST(RecordJson, BadTypesRefusedNamingTheField) {
  const BadType cases[] = {
      {"network", "vni", "100",
       "network blue: field \"vni\" must be an integer, got string"},
      {"network", "vni", -1,
       "network blue: field \"vni\" = -1 is out of range 0..4294967295"},
      {"network", "vni", 1.5,
       "network blue: field \"vni\" must be an integer, got number"},
      {"network", "subnet", 10,
       "network blue: field \"subnet\" must be a string, got number"},
      {"network", "mtu", true,
       "network blue: field \"mtu\" must be an integer, got boolean"},
      {"network", "schema", "1",
       "network blue: field \"schema\" must be an integer, got string"},
      {"network", "name", "",
       "network record: field \"name\" is missing or empty"},
      {"node", "vtep", json::array(),
       "node host1: field \"vtep\" must be a string, got array"},
      {"endpoint", "labels", json::array(),
       "endpoint web1: field \"labels\" must be an object of strings, got "
       "array"},
      {"endpoint", "labels", json{{"app", 1}},
       "endpoint web1: field \"labels.app\" must be a string, got number"},
      {"endpoint", "ip", nullptr,
       "endpoint web1: field \"ip\" must be a string, got null"},
      {"policy", "port", 80,
       "policy p1: field \"port\" must be a string, got number"},
  };
  Snapshot s = Sample();
  for (const BadType& c : cases) {
    SCOPED_TRACE(std::string(c.kind) + "." + c.field);
    RecordKind kind = *KindFromName(c.kind);
    json j = kind == RecordKind::kNetwork    ? ToJson(s.networks["blue"])
             : kind == RecordKind::kNode     ? ToJson(s.nodes["host1"])
             : kind == RecordKind::kEndpoint ? ToJson(s.endpoints["web1"])
                                             : ToJson(s.policies["p1"]);
    j[c.field] = c.value;
    absl::StatusOr<Record> r = RecordFromJson(kind, j);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), std::string(c.message));
  }
}

TEST(RecordJson, NotAnObjectRefused) {
  EXPECT_EQ(FromJson<Node>(json::array()).status().message(),
            "node record: must be a JSON object, got array");
  EXPECT_FALSE(SnapshotFromJson(json("x")).ok());
  json doc = SnapshotToJson(Sample());
  doc["nodes"] = json::array();
  EXPECT_EQ(SnapshotFromJson(doc).status().message(),
            "registry document: field \"nodes\" must be an object, got array");
}

TEST(RecordJson, KeyMustMatchName) {
  json doc = SnapshotToJson(Sample());
  doc["nodes"]["other"] = doc["nodes"]["host1"];
  absl::StatusOr<Snapshot> s = SnapshotFromJson(doc);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("stored under the key \"other\""));
}

// SnapshotFromText() converts records while parsing; it must decide every
// document as SnapshotFromJson() does on the whole DOM.
TEST(RecordJson, TextDecodeAgreesWithTheDomDecode) {
  std::vector<json> docs;
  docs.push_back(SnapshotToJson(Sample()));
  docs.push_back(SnapshotToJson(Snapshot{}));
  docs.push_back(json::object());
  docs.push_back(json("x"));
  json doc = SnapshotToJson(Sample());
  doc["nodes"]["other"] = doc["nodes"]["host1"];  // key is not the name
  docs.push_back(doc);
  doc = SnapshotToJson(Sample());
  doc["nodes"]["host1"]["vtep"] = 5;  // bad field
  docs.push_back(doc);
  doc = SnapshotToJson(Sample());
  doc["nodes"] = json::array({doc["nodes"]["host1"]});  // not an object
  docs.push_back(doc);
  doc = SnapshotToJson(Sample());
  doc["endpoints"]["web2"] = 7;  // a record that is not an object
  docs.push_back(doc);
  doc = SnapshotToJson(Sample());
  doc["endpoints"]["web2"] = json::array();
  docs.push_back(doc);
  doc = SnapshotToJson(Sample());
  doc["schema"] = 2;                               // newer document...
  doc["endpoints"]["web1"]["ip"] = json::array();  // ...decides first
  docs.push_back(doc);
  doc = SnapshotToJson(Sample());
  doc["policies"]["p1"]["labels"] = {{"nested", {{"deep", 1}}}};  // unknown
  docs.push_back(doc);

  for (const json& d : docs) {
    SCOPED_TRACE(d.dump());
    absl::StatusOr<Snapshot> dom = SnapshotFromJson(d, "doc");
    absl::StatusOr<Snapshot> text = SnapshotFromText(d.dump(), "doc");
    ASSERT_EQ(text.status(), dom.status());
    if (dom.ok()) {
      EXPECT_EQ(*text, *dom);
    }
  }
}

TEST(RecordJson, TextEncodeIsTheDomsIndentedDump) {
  Snapshot odd = Sample();
  odd.nodes["h\"q\\x"] = Node{.name = "h\"q\\x", .vtep = "192.168.50.9"};
  odd.endpoints["web1"].labels.clear();
  odd.networks.clear();
  odd.revision = 0;
  for (const Snapshot& s : {Sample(), Snapshot{}, odd}) {
    EXPECT_EQ(SnapshotToText(s), SnapshotToJson(s).dump(2) + "\n");
  }
}

TEST(RecordJson, TextDecodeKeepsTheLastOfDuplicateKeys) {
  const std::string text =
      R"({"nodes":{"h":{"name":"h","vtep":"192.168.50.1"},)"
      R"("h":{"name":"h","vtep":"192.168.50.2"}}})";
  absl::StatusOr<Snapshot> s = SnapshotFromText(text);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->nodes.at("h").vtep, "192.168.50.2");
  EXPECT_EQ(*s, *SnapshotFromJson(json::parse(text)));
  EXPECT_THROW(SnapshotFromText(R"({"nodes":)"), json::parse_error);
}

TEST(RecordJson, MissingSchemaAndUnknownFieldsAccepted) {
  json j = {{"name", "host2"}, {"vtep", "1.2.3.4"}, {"future", 1}};
  absl::StatusOr<Node> n = FromJson<Node>(j);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->vtep, "1.2.3.4");
}

TEST(RecordJson, EndpointIdentityIsOptional) {
  json j = ToJson(Sample().endpoints["web1"]);
  EXPECT_EQ(j["identity"], 257);
  // Written before identities existed: 0, given one on the next write.
  j.erase("identity");
  absl::StatusOr<Endpoint> e = FromJson<Endpoint>(j);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->identity, 0u);
  j["identity"] = -1;
  EXPECT_THAT(FromJson<Endpoint>(j).status().message(),
              HasSubstr("field \"identity\" = -1 is out of range"));
  j["identity"] = "256";
  EXPECT_THAT(FromJson<Endpoint>(j).status().message(),
              HasSubstr("field \"identity\" must be an integer"));
}

TEST(Model, ApplyChanges) {
  Snapshot s = Sample();
  Endpoint web2 = s.endpoints["web1"];
  web2.name = "web2";
  web2.ip = "10.10.0.6";
  std::vector<RecordChange> changes = {
      {.kind = RecordKind::kEndpoint, .name = "web2", .value = web2},
      {.kind = RecordKind::kEndpoint, .name = "web1", .deleted = true},
      {.kind = RecordKind::kNode,
       .name = "host1",
       .value = Node{.name = "host1", .vtep = "192.168.50.9"}},
  };
  ApplyChanges(changes, s);
  EXPECT_EQ(s.endpoints.size(), 1u);
  EXPECT_EQ(s.endpoints.at("web2"), web2);
  EXPECT_EQ(s.nodes.at("host1").vtep, "192.168.50.9");
}

}  // namespace
}  // namespace ovx::controller
