#include "devices/adapters/coap/coap_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <vector>

#include "devices/adapters/http/ingest_counters.h"

namespace verge::devices {
namespace {

// Accepts device "tag-1" only, as the manager refuses unknown devices.
class FakeSink : public IngestSink {
 public:
  IngestResult ingest(std::string_view protocol, std::span<const NamedReading> readings) override {
    std::lock_guard lock(mu);
    IngestResult r;
    for (const auto& nr : readings) {
      if (nr.device == "tag-1" && protocol == "coap") {
        ++r.accepted;
        got.push_back(nr);
      } else {
        ++r.rejected;
        r.errors.push_back("device '" + nr.device + "': unknown device");
      }
    }
    return r;
  }
  std::mutex mu;
  std::vector<NamedReading> got;
};

void put_option(std::string& m, unsigned& last, unsigned number, std::string_view value) {
  const unsigned delta = number - last;
  last = number;
  auto nibble = [](unsigned v) { return v < 13 ? v : 13u; };
  m += static_cast<char>((nibble(delta) << 4) | nibble(static_cast<unsigned>(value.size())));
  if (delta >= 13) m += static_cast<char>(delta - 13);
  if (value.size() >= 13) m += static_cast<char>(value.size() - 13);
  m += value;
}

struct Response {
  int code = -1;  // class * 32 + detail, e.g. 2.04 = 68
  std::string payload;
};

// One confirmable request over a plain UDP socket, answered by a piggybacked ACK.
Response request(uint16_t port, uint8_t method, std::vector<std::string> path, std::string body,
                 int content_format = 50) {
  static uint16_t mid = 1;
  std::string m;
  m += static_cast<char>(0x40 | 2);  // version 1, CON, token length 2
  m += static_cast<char>(method);
  m += static_cast<char>(mid >> 8);
  m += static_cast<char>(mid & 0xff);
  ++mid;
  m += "tk";
  unsigned last = 0;
  for (const auto& seg : path) put_option(m, last, 11, seg);
  if (content_format >= 0)
    put_option(m, last, 12, std::string(1, static_cast<char>(content_format)));
  if (!body.empty()) m += static_cast<char>(0xff) + body;

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Response r;
  if (sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
    close(fd);
    return r;
  }
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) == 1) {
    char buf[2048];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n >= 4) {
      const std::string_view in(buf, static_cast<size_t>(n));
      r.code = static_cast<uint8_t>(in[1]);
      const size_t marker = in.find(static_cast<char>(0xff), 4 + (in[0] & 0x0f));
      if (marker != std::string_view::npos) r.payload = std::string(in.substr(marker + 1));
    }
  }
  close(fd);
  return r;
}

constexpr uint8_t kPost = 2, kPut = 3, kGet = 1;
constexpr int code(int cls, int detail) { return cls * 32 + detail; }

class CoapServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = CoapServer::start(ListenAddress{"127.0.0.1", 0}, sink_);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    port_ = server_->address().port;
    ASSERT_NE(port_, 0);
  }
  FakeSink sink_;
  std::unique_ptr<CoapServer> server_;
  uint16_t port_ = 0;
};

TEST_F(CoapServerTest, PostIngestsWithTheDeviceFromTheUri) {
  const uint64_t before = coap_ingest_counters().readings.value();
  auto r = request(port_, kPost, {"ingest", "tag-1"}, R"({"values":{"temp":38.5,"steps":120}})");
  EXPECT_EQ(r.code, code(2, 4)) << r.payload;
  std::lock_guard lock(sink_.mu);
  ASSERT_EQ(sink_.got.size(), 2u);
  EXPECT_EQ(sink_.got[0].device, "tag-1");
  EXPECT_EQ(sink_.got[0].point, "temp");
  EXPECT_EQ(sink_.got[0].value, Value(38.5));
  EXPECT_EQ(coap_ingest_counters().readings.value(), before + 2);
}

TEST_F(CoapServerTest, PutAndNoContentFormatAlsoWork) {
  auto r = request(port_, kPut, {"ingest", "tag-1"}, R"({"point":"temp","value":1})", -1);
  EXPECT_EQ(r.code, code(2, 4)) << r.payload;
  std::lock_guard lock(sink_.mu);
  EXPECT_EQ(sink_.got.size(), 1u);
}

TEST_F(CoapServerTest, BadRequestsSayWhy) {
  auto bad_json = request(port_, kPost, {"ingest", "tag-1"}, "{oops");
  EXPECT_EQ(bad_json.code, code(4, 0));
  EXPECT_EQ(bad_json.payload.rfind("bad JSON at offset 1", 0), 0u) << bad_json.payload;

  auto bad_item = request(port_, kPost, {"ingest", "tag-1"}, R"({"values":{"a":1,"b":[2]}})");
  EXPECT_EQ(bad_item.code, code(4, 0));
  EXPECT_EQ(bad_item.payload,
            "1 rejected, 1 accepted; values.b: expected a number, bool or string");

  auto empty = request(port_, kPost, {"ingest", "tag-1"}, "");
  EXPECT_EQ(empty.code, code(4, 0));

  auto format = request(port_, kPost, {"ingest", "tag-1"}, "x=1", 0);
  EXPECT_EQ(format.code, code(4, 15));
}

TEST_F(CoapServerTest, UnknownDeviceAndResourceAre404) {
  auto unknown = request(port_, kPost, {"ingest", "nobody"}, R"({"values":{"a":1}})");
  EXPECT_EQ(unknown.code, code(4, 4));
  EXPECT_EQ(unknown.payload, "1 rejected, 0 accepted; device 'nobody': unknown device");
  EXPECT_EQ(request(port_, kPost, {"other", "tag-1"}, "{}").code, code(4, 4));
  EXPECT_EQ(request(port_, kPost, {"ingest"}, "{}").code, code(4, 4));
  EXPECT_EQ(request(port_, kPost, {"ingest", "tag-1", "x"}, "{}").code, code(4, 4));
  // The unknown-resource handler takes POST and PUT only; libcoap answers other methods 4.04.
  EXPECT_EQ(request(port_, kGet, {"ingest", "tag-1"}, "").code, code(4, 4));
  std::lock_guard lock(sink_.mu);
  EXPECT_TRUE(sink_.got.empty());
}

TEST_F(CoapServerTest, StopsPromptly) {
  const auto t0 = std::chrono::steady_clock::now();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(CoapServer, TwoServersAndABadAddress) {
  FakeSink sink;
  auto a = CoapServer::start(ListenAddress{"127.0.0.1", 0}, sink);
  auto b = CoapServer::start(ListenAddress{"127.0.0.1", 0}, sink);
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->address().port, (*b)->address().port);
  auto taken = CoapServer::start(ListenAddress{"127.0.0.1", (*a)->address().port}, sink);
  EXPECT_FALSE(taken);
  auto bad = CoapServer::start(ListenAddress{"not an address!", 0}, sink);
  EXPECT_FALSE(bad);
}

}  // namespace
}  // namespace verge::devices
