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

// Options after Content-Format (12), in increasing number: Block1 (27), Size1 (60).
using Options = std::vector<std::pair<unsigned, std::string>>;

// A confirmable request on `fd` (a UDP socket), answered by a piggybacked ACK.
Response exchange(int fd, uint16_t port, uint8_t method, const std::vector<std::string>& path,
                  const std::string& body, int content_format = 50, const Options& extra = {}) {
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
  for (const auto& [number, value] : extra) put_option(m, last, number, value);
  if (!body.empty()) m += static_cast<char>(0xff) + body;

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Response r;
  if (sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
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
  return r;
}

// One request from a socket of its own (a session of its own on the server).
Response request(uint16_t port, uint8_t method, std::vector<std::string> path, std::string body,
                 int content_format = 50) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  Response r = exchange(fd, port, method, path, body, content_format);
  close(fd);
  return r;
}

// A Block1 option value: block number, more flag, size exponent (size = 2^(szx+4)).
std::string block1(unsigned num, bool more, unsigned szx) {
  const unsigned v = (num << 4) | (more ? 8u : 0u) | szx;
  std::string out;
  if (v > 0xffff) out += static_cast<char>(v >> 16);
  if (v > 0xff) out += static_cast<char>((v >> 8) & 0xff);
  if (v > 0) out += static_cast<char>(v & 0xff);
  return out;
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

TEST_F(CoapServerTest, BlockWiseUploadsAreReassembled) {
  const std::string body = R"({"values":{"temp":38.5,"steps":120},"ts":"2026-11-21T10:00:00Z"})";
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const size_t size = 16;  // szx 0
  const size_t blocks = (body.size() + size - 1) / size;
  for (size_t i = 0; i < blocks; ++i) {
    const bool more = i + 1 < blocks;
    auto r = exchange(fd, port_, kPost, {"ingest", "tag-1"}, body.substr(i * size, size), 50,
                      {{27, block1(static_cast<unsigned>(i), more, 0)}});
    ASSERT_EQ(r.code, more ? code(2, 31) : code(2, 4)) << "block " << i << ": " << r.payload;
  }
  close(fd);
  std::lock_guard lock(sink_.mu);
  ASSERT_EQ(sink_.got.size(), 2u);
  EXPECT_EQ(sink_.got[1].value, Value(int64_t{120}));
}

TEST_F(CoapServerTest, OversizedBlockWiseUploadsFailAtTheFirstBlockPastTheLimit) {
  const uint64_t refused = coap_ingest_counters().refused.value();
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const std::string chunk(1024, ' ');  // szx 6
  // 64 blocks of 1 KiB fill the 64 KiB; the 65th is refused without waiting for the rest.
  for (unsigned i = 0; i < 64; ++i) {
    auto r = exchange(fd, port_, kPost, {"ingest", "tag-1"}, chunk, 50, {{27, block1(i, true, 6)}});
    ASSERT_EQ(r.code, code(2, 31)) << "block " << i << ": " << r.payload;
  }
  auto over =
      exchange(fd, port_, kPost, {"ingest", "tag-1"}, chunk, 50, {{27, block1(64, true, 6)}});
  EXPECT_EQ(over.code, code(4, 13));
  EXPECT_EQ(over.payload, "body over the limit of 65536 bytes");
  // A client that announces its size (Size1) is refused at its first block.
  std::string size1;
  for (unsigned v = 200'000; v > 0; v >>= 8)
    size1.insert(size1.begin(), static_cast<char>(v & 0xff));
  auto announced = exchange(fd, port_, kPost, {"ingest", "tag-1"}, chunk, 50,
                            {{27, block1(0, true, 6)}, {60, size1}});
  EXPECT_EQ(announced.code, code(4, 13));
  // A block without the ones before it.
  auto gap = exchange(fd, port_, kPost, {"ingest", "tag-1"}, chunk, 50, {{27, block1(5, true, 6)}});
  EXPECT_EQ(gap.code, code(4, 8)) << gap.payload;
  close(fd);
  EXPECT_EQ(coap_ingest_counters().refused.value(), refused + 3);
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
