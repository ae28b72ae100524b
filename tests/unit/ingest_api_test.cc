#include "api/ingest_api.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "devices/adapters/http/ingest_counters.h"

namespace verge::api {
namespace {

// Accepts readings of device "d" and refuses the others, as the manager does for unknown ones.
class FakeSink : public devices::IngestSink {
 public:
  devices::IngestResult ingest(std::string_view protocol,
                               std::span<const devices::NamedReading> readings) override {
    protocol_ = std::string(protocol);
    devices::IngestResult r;
    for (const auto& nr : readings) {
      if (nr.device == "d") {
        ++r.accepted;
        got.push_back(nr);
      } else {
        ++r.rejected;
        r.errors.push_back("device '" + nr.device + "': unknown device");
      }
    }
    return r;
  }
  std::vector<devices::NamedReading> got;
  std::string protocol_;
};

net::HttpRequest request(std::string method, std::string target, std::string body,
                         std::string content_type = "") {
  net::HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.body = std::move(body);
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  return req;
}

Value body_of(const net::HttpReply& r) {
  auto v = parse_json(r.body);
  EXPECT_TRUE(v.has_value()) << r.body;
  return v ? *v : Value();
}

TEST(IngestApi, Path) {
  EXPECT_TRUE(is_ingest_path("/api/v1/ingest"));
  EXPECT_FALSE(is_ingest_path("/api/v1/ingest/"));
  EXPECT_FALSE(is_ingest_path("/api/v1/devices"));
}

TEST(IngestApi, JsonAllAccepted204) {
  FakeSink sink;
  auto r = handle_ingest_request(
      request("POST", "/api/v1/ingest", R"({"device":"d","values":{"temp":21.5}})",
              "application/json; charset=utf-8"),
      sink);
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.protocol_, "http");
  EXPECT_EQ(sink.got[0].point, "temp");
}

TEST(IngestApi, JsonDefaultDeviceFromTheQuery) {
  FakeSink sink;
  auto r = handle_ingest_request(
      request("POST", "/api/v1/ingest?device=d", R"({"values":{"temp":1}})", "application/json"),
      sink);
  EXPECT_EQ(r.status, 204);
  ASSERT_EQ(sink.got.size(), 1u);
}

TEST(IngestApi, LineProtocolWithPrecisionAndWithoutContentType) {
  FakeSink sink;
  auto r = handle_ingest_request(
      request("POST", "/api/v1/ingest?precision=s&db=ignored", "d temp=1.5,on=t 1700000000"), sink);
  EXPECT_EQ(r.status, 204) << r.body;
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(sink.got[0].ts_ms, 1700000000000);
  auto plain = handle_ingest_request(
      request("POST", "/api/v1/ingest", "d x=1i", "text/plain; charset=utf-8"), sink);
  EXPECT_EQ(plain.status, 204);
  EXPECT_EQ(sink.got.size(), 3u);
  auto curl = handle_ingest_request(
      request("POST", "/api/v1/ingest", "d y=2i", "application/x-www-form-urlencoded"), sink);
  EXPECT_EQ(curl.status, 204) << "curl --data-binary's default type";
  EXPECT_EQ(sink.got.size(), 4u);
}

TEST(IngestApi, PartlyRejected400KeepsTheGoodOnes) {
  FakeSink sink;
  const uint64_t rejected_before = devices::http_ingest_counters().rejected.value();
  auto r = handle_ingest_request(request("POST", "/api/v1/ingest", "d a=1\nd b=oops\nother c=2\n"),
                                 sink);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_EQ(sink.got.size(), 1u);
  Value b = body_of(r);
  EXPECT_EQ(*b.find("accepted"), Value(1));
  EXPECT_EQ(*b.find("rejected"), Value(2));
  ASSERT_TRUE(b.find("errors")->is_array());
  ASSERT_EQ(b.find("errors")->as_array().size(), 2u);
  EXPECT_EQ(b.find("errors")->as_array()[0], Value("line 2: field 'b': bad float 'oops'"));
  EXPECT_EQ(b.find("errors")->as_array()[1], Value("device 'other': unknown device"));
  EXPECT_EQ(devices::http_ingest_counters().rejected.value(), rejected_before + 2);
}

TEST(IngestApi, TimestampsOutOfRangeAreErrorLinesAndCounted) {
  FakeSink sink;
  const uint64_t rejected_before = devices::http_ingest_counters().rejected.value();
  // Seconds sent with precision=ms, and microseconds in a JSON sample.
  auto line = handle_ingest_request(
      request("POST", "/api/v1/ingest?precision=ms", "d a=1 1732190000\nd b=2 1732190000123\n"),
      sink);
  EXPECT_EQ(line.status, 400);
  Value b = body_of(line);
  EXPECT_EQ(*b.find("accepted"), Value(1));
  ASSERT_EQ(b.find("errors")->as_array().size(), 1u);
  EXPECT_EQ(b.find("errors")->as_array()[0],
            Value("line 1: ts 1732190000 is before 2000-01-01; is it in ms (the precision "
                  "parameter, default ns)?"));
  auto json = handle_ingest_request(
      request("POST", "/api/v1/ingest", R"({"device":"d","ts":1732190000123000,"values":{"a":1}})",
              "application/json"),
      sink);
  EXPECT_EQ(json.status, 400);
  Value j = body_of(json);
  ASSERT_EQ(j.find("errors")->as_array().size(), 1u);
  EXPECT_EQ(j.find("errors")->as_array()[0],
            Value("ts: ts 1732190000123000 is more than 1 day in the future; is it in ms?"));
  EXPECT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(devices::http_ingest_counters().rejected.value(), rejected_before + 2);
}

TEST(IngestApi, BadJson400) {
  FakeSink sink;
  auto r =
      handle_ingest_request(request("POST", "/api/v1/ingest", "{oops", "application/json"), sink);
  EXPECT_EQ(r.status, 400);
  Value b = body_of(r);
  EXPECT_EQ(b.find("error")->as_string().rfind("bad JSON at offset 1", 0), 0u);
  EXPECT_EQ(*b.find("accepted"), Value(0));
  EXPECT_TRUE(sink.got.empty());
}

TEST(IngestApi, EmptyBodyAndBadQuery400) {
  FakeSink sink;
  EXPECT_EQ(
      handle_ingest_request(request("POST", "/api/v1/ingest", "# only a comment\n"), sink).status,
      400);
  auto p = handle_ingest_request(request("POST", "/api/v1/ingest?precision=h", "d a=1"), sink);
  EXPECT_EQ(p.status, 400);
  EXPECT_NE(p.body.find("precision: expected ns, us, ms or s, got 'h'"), std::string::npos);
  EXPECT_EQ(handle_ingest_request(request("POST", "/api/v1/ingest?x=%zz", "d a=1"), sink).status,
            400);
  EXPECT_TRUE(sink.got.empty());
}

TEST(IngestApi, MethodNotAllowed405) {
  FakeSink sink;
  for (const char* m : {"GET", "PUT", "DELETE", "HEAD"}) {
    auto r = handle_ingest_request(request(m, "/api/v1/ingest", ""), sink);
    EXPECT_EQ(r.status, 405) << m;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "Allow");
    EXPECT_EQ(r.headers[0].second, "POST");
  }
}

TEST(IngestApi, UnsupportedMediaType415) {
  FakeSink sink;
  const uint64_t refused_before = devices::http_ingest_counters().refused.value();
  auto r =
      handle_ingest_request(request("POST", "/api/v1/ingest", "<x/>", "application/xml"), sink);
  EXPECT_EQ(r.status, 415);
  EXPECT_NE(r.body.find("unsupported Content-Type 'application/xml'"), std::string::npos);
  EXPECT_EQ(devices::http_ingest_counters().refused.value(), refused_before + 1);
  EXPECT_TRUE(sink.got.empty());
}

TEST(IngestApi, TooLarge413) {
  FakeSink sink;
  auto r = handle_ingest_request(
      request("POST", "/api/v1/ingest", std::string((size_t{1} << 20) + 1, 'x')), sink);
  EXPECT_EQ(r.status, 413);
}

}  // namespace
}  // namespace verge::api
