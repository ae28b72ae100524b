#include "net/http.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "net/http_server.h"
#include "net/loop_group.h"
#include "net/socket.h"

namespace verge::net {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

HttpParse parse(std::string_view s, HttpRequest& req, const char** err = nullptr,
                size_t limit = 8192) {
  const char* e = nullptr;
  const HttpParse r = parse_http_request(bytes(s), req, &e, limit);
  if (err != nullptr) *err = e;
  return r;
}

constexpr std::string_view kGet =
    "GET /metrics?format=text HTTP/1.1\r\n"
    "Host: broker.local:8080\r\n"
    "User-Agent: curl/8.0\r\n"
    "Accept:*/*  \r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "\r\n";

TEST(HttpParser, CompleteRequest) {
  HttpRequest req;
  const char* err = "unset";
  ASSERT_EQ(parse(kGet, req, &err), HttpParse::Complete);
  EXPECT_EQ(err, nullptr);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/metrics?format=text");
  EXPECT_EQ(req.version_minor, 1);
  EXPECT_EQ(req.header_bytes, kGet.size());
  ASSERT_EQ(req.headers.size(), 4u);
  EXPECT_EQ(req.headers[0].first, "Host");
  EXPECT_EQ(req.headers[0].second, "broker.local:8080");
  EXPECT_EQ(req.headers[2].second, "*/*");  // OWS trimmed on both sides
}

TEST(HttpParser, TrailingBytesAreNotConsumed) {
  HttpRequest req;
  const std::string buf = std::string(kGet) + "GET /healthz HTTP/1.1\r\n";
  ASSERT_EQ(parse(buf, req), HttpParse::Complete);
  EXPECT_EQ(req.header_bytes, kGet.size());
  EXPECT_EQ(req.target, "/metrics?format=text");
}

TEST(HttpParser, Http10WithoutHost) {
  HttpRequest req;
  ASSERT_EQ(parse("GET /healthz HTTP/1.0\r\n\r\n", req), HttpParse::Complete);
  EXPECT_EQ(req.version_minor, 0);
  EXPECT_TRUE(req.headers.empty());
  EXPECT_EQ(req.header_bytes, 25u);
}

TEST(HttpParser, LeadingEmptyLinesSkipped) {
  HttpRequest req;
  const std::string_view s = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(parse(s, req), HttpParse::Complete);
  EXPECT_EQ(req.header_bytes, s.size());
  EXPECT_EQ(req.target, "/");
}

TEST(HttpParser, HeaderLookupIsCaseInsensitive) {
  HttpRequest req;
  ASSERT_EQ(parse(kGet, req), HttpParse::Complete);
  ASSERT_TRUE(req.header("host").has_value());
  EXPECT_EQ(*req.header("HOST"), "broker.local:8080");
  EXPECT_FALSE(req.header("Hos").has_value());
  EXPECT_FALSE(req.header("Cookie").has_value());
  EXPECT_EQ(req.header_count("user-agent"), 1u);
  EXPECT_EQ(req.header_count("Upgrade"), 0u);
}

TEST(HttpParser, HeaderHasToken) {
  HttpRequest req;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive,  UPGRADE \r\n"
                  "Connection: close\r\nX-List: a,,b\r\n\r\n",
                  req),
            HttpParse::Complete);
  EXPECT_TRUE(req.header_has_token("connection", "upgrade"));
  EXPECT_TRUE(req.header_has_token("Connection", "Keep-Alive"));
  EXPECT_TRUE(req.header_has_token("Connection", "close"));  // second header of the same name
  EXPECT_FALSE(req.header_has_token("Connection", "keep"));
  EXPECT_FALSE(req.header_has_token("Connection", "keep-alive, upgrade"));
  EXPECT_TRUE(req.header_has_token("X-List", "b"));
  EXPECT_FALSE(req.header_has_token("X-List", "c"));
  EXPECT_FALSE(req.header_has_token("Upgrade", "websocket"));
}

TEST(HttpParser, EveryPrefixNeedsMore) {
  for (size_t n = 0; n < kGet.size(); ++n) {
    HttpRequest req;
    const char* err = nullptr;
    EXPECT_EQ(parse(kGet.substr(0, n), req, &err), HttpParse::NeedMore) << "prefix " << n << err;
  }
}

HttpParse parse_body(std::string_view s, HttpRequest& req, HttpParseError* err = nullptr,
                     size_t max_body = size_t{1} << 20) {
  HttpParseError e;
  const HttpParse r = parse_http_request(bytes(s), req, &e, HttpLimits{8192, max_body});
  if (err != nullptr) *err = e;
  return r;
}

constexpr std::string_view kPost =
    "POST /api/v1/rules HTTP/1.1\r\n"
    "Host: h\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    "{\"id\":\"a\"}";

TEST(HttpBody, ContentLengthBodyIsRead) {
  HttpRequest req;
  HttpParseError err;
  ASSERT_EQ(parse_body(kPost, req, &err), HttpParse::Complete) << err.message;
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body, "{\"id\":\"a\"}");
  EXPECT_EQ(req.total_bytes, kPost.size());
  EXPECT_EQ(req.header_bytes, kPost.size() - 10);
  EXPECT_EQ(req.path(), "/api/v1/rules");
  EXPECT_EQ(req.query(), "");
}

TEST(HttpBody, EveryPrefixNeedsMoreAndHeadIsReportedOnceComplete) {
  const size_t head = kPost.size() - 10;
  for (size_t n = 0; n < kPost.size(); ++n) {
    HttpRequest req;
    HttpParseError err;
    ASSERT_EQ(parse_body(kPost.substr(0, n), req, &err), HttpParse::NeedMore) << n;
    // Once the head is complete the parser says so (for Expect: 100-continue).
    EXPECT_EQ(req.header_bytes, n >= head ? head : 0u) << n;
  }
}

TEST(HttpBody, PipelinedRequestsWithBodies) {
  const std::string two =
      std::string(kPost) + "PUT /x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET";
  HttpRequest req;
  ASSERT_EQ(parse_body(two, req), HttpParse::Complete);
  EXPECT_EQ(req.body, "{\"id\":\"a\"}");
  const std::string rest = two.substr(req.total_bytes);
  ASSERT_EQ(parse_body(rest, req), HttpParse::Complete);
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.body, "abc");
  EXPECT_EQ(req.path(), "/x");
  EXPECT_EQ(req.query(), "y=1");
  EXPECT_EQ(rest.substr(req.total_bytes), "GET");
}

TEST(HttpBody, TooLargeIs413BeforeTheBodyArrives) {
  HttpRequest req;
  HttpParseError err;
  ASSERT_EQ(parse_body("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", req, &err, 10),
            HttpParse::Bad);
  EXPECT_EQ(err.status, 413);
  EXPECT_NE(std::string_view(err.message).find("too large"), std::string_view::npos);
  // Exactly at the limit is fine.
  EXPECT_EQ(parse_body("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", req,
                       &err, 10),
            HttpParse::Complete);
  // The default limit is 1 MiB.
  EXPECT_EQ(parse_body("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", req, &err),
            HttpParse::Bad);
  EXPECT_EQ(err.status, 413);
  EXPECT_EQ(parse_body("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", req, &err),
            HttpParse::NeedMore);
}

TEST(HttpBody, TransferEncodingIs411) {
  HttpRequest req;
  HttpParseError err;
  ASSERT_EQ(
      parse_body("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", req, &err),
      HttpParse::Bad);
  EXPECT_EQ(err.status, 411);
  EXPECT_NE(std::string_view(err.message).find("Content-Length"), std::string_view::npos);
}

TEST(HttpBody, ContentLengthStrictness) {
  HttpRequest req;
  HttpParseError err;
  for (std::string_view cl : {"+5", "5 5", "0x5", "-1", "", "99999999999999999999999"}) {
    const std::string s =
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::string(cl) + "\r\n\r\nhello";
    EXPECT_EQ(parse_body(s, req, &err), HttpParse::Bad) << cl;
    EXPECT_EQ(err.status, 400) << cl;
  }
  EXPECT_EQ(parse_body("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
                       "\r\nhello!",
                       req, &err),
            HttpParse::Bad);
  EXPECT_NE(std::string_view(err.message).find("conflicting"), std::string_view::npos);
  // Identical repeats are allowed (RFC 9110 8.6).
  EXPECT_EQ(parse_body("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
                       "\r\nhello",
                       req, &err),
            HttpParse::Complete);
  EXPECT_EQ(req.body, "hello");
}

TEST(HttpBody, HeadErrorsKeepTheirStatus) {
  HttpRequest req;
  HttpParseError err;
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  big.append(9000, 'a');
  ASSERT_EQ(parse_body(big, req, &err), HttpParse::Bad);
  EXPECT_EQ(err.status, 431);
  ASSERT_EQ(parse_body("GET / HTTP/1.1\nHost: h\r\n\r\n", req, &err), HttpParse::Bad);
  EXPECT_EQ(err.status, 400);
}

TEST(HttpParser, ZeroContentLengthAccepted) {
  HttpRequest req;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", req),
            HttpParse::Complete);
}

struct BadCase {
  const char* name;
  std::string_view input;
  std::string_view error_part;
};

class HttpBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(HttpBad, Rejected) {
  HttpRequest req;
  const char* err = nullptr;
  ASSERT_EQ(parse(GetParam().input, req, &err), HttpParse::Bad);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string_view(err).find(GetParam().error_part), std::string_view::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HttpBad,
    ::testing::Values(
        BadCase{"MethodNotToken", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "method"},
        BadCase{"EmptyMethod", " / HTTP/1.1\r\nHost: h\r\n\r\n", "method"},
        BadCase{"AbsoluteForm", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", "origin-form"},
        BadCase{"AsteriskForm", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "origin-form"},
        BadCase{"DoubleSpace", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "origin-form"},
        BadCase{"ControlInTarget", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", "target"},
        BadCase{"Http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", "version"},
        BadCase{"Http12", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", "version"},
        BadCase{"LowercaseVersion", "GET / http/1.1\r\nHost: h\r\n\r\n", "version"},
        BadCase{"MissingVersion", "GET /\r\nHost: h\r\n\r\n", "request line"},
        BadCase{"BareLF", "GET / HTTP/1.1\nHost: h\r\n\r\n", "bare LF"},
        BadCase{"BareCR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", "bare CR"},
        BadCase{"ObsFold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", "folding"},
        BadCase{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", "before colon"},
        BadCase{"NameNotToken", "GET / HTTP/1.1\r\nHo(st: h\r\n\r\n", "field name"},
        BadCase{"NoColon", "GET / HTTP/1.1\r\nHost\r\n\r\n", "field name"},
        BadCase{"EmptyName", "GET / HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n", "empty header"},
        BadCase{"NulInValue", std::string_view("GET / HTTP/1.1\r\nHost: h\0\r\n\r\n", 28), "value"},
        BadCase{"DelInValue", "GET / HTTP/1.1\r\nHost: h\x7f\r\n\r\n", "value"},
        BadCase{"MissingHost11", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", "Host"},
        BadCase{"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "Host"},
        // The head-only form (WebSocket handshakes) still refuses bodies.
        BadCase{"ContentLength", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
                "bodies"},
        BadCase{"BadContentLength", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                "Content-Length"},
        BadCase{"TransferEncoding",
                "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "bodies"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return std::string(p.param.name); });

// Garbage is rejected as soon as it is seen, without waiting for the header limit.
TEST(HttpParser, EarlyRejectOfPartialGarbage) {
  HttpRequest req;
  const char* err = nullptr;
  EXPECT_EQ(parse("\x16\x03\x01\x02", req, &err), HttpParse::Bad);  // TLS ClientHello
  EXPECT_NE(err, nullptr);
  EXPECT_EQ(parse("GET / HTTP/2", req), HttpParse::Bad);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nBad Name", req), HttpParse::Bad);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n folded", req), HttpParse::Bad);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX: a\x01", req), HttpParse::Bad);
  EXPECT_EQ(parse("GET / HTTP/1.1\rX", req), HttpParse::Bad);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h", req), HttpParse::NeedMore);
  EXPECT_EQ(parse("GET / HTTP/1.", req), HttpParse::NeedMore);
}

TEST(HttpParser, HeaderLimit) {
  std::string s = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  s.append(100, 'a');
  s += "\r\n\r\n";
  HttpRequest req;
  const char* err = nullptr;
  EXPECT_EQ(parse(s, req, &err, s.size()), HttpParse::Complete);
  EXPECT_EQ(req.header_bytes, s.size());
  EXPECT_EQ(parse(s, req, &err, s.size() - 1), HttpParse::Bad);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string_view(err).find("too large"), std::string_view::npos);
  // An incomplete head that already reached the limit is Bad, one below it NeedMore.
  const std::string partial = s.substr(0, 60);
  EXPECT_EQ(parse(partial, req, &err, 60), HttpParse::Bad);
  EXPECT_EQ(parse(partial, req, &err, 61), HttpParse::NeedMore);
}

TEST(HttpParser, DefaultLimitIs8K) {
  std::string s = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  s.append(9000, 'a');
  HttpRequest req;
  EXPECT_EQ(parse(s, req), HttpParse::Bad);
  EXPECT_EQ(parse(s.substr(0, 8000), req), HttpParse::NeedMore);
}

TEST(HttpParser, TooManyHeaders) {
  std::string s = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  s += "\r\n";
  HttpRequest req;
  const char* err = nullptr;
  EXPECT_EQ(parse(s, req, &err), HttpParse::Bad);
  EXPECT_NE(std::string_view(err).find("too many"), std::string_view::npos);
}

TEST(HttpParser, ReusedRequestIsReset) {
  HttpRequest req;
  ASSERT_EQ(parse(kGet, req), HttpParse::Complete);
  ASSERT_EQ(parse("GET /healthz HTTP/1.0\r\n\r\n", req), HttpParse::Complete);
  EXPECT_EQ(req.target, "/healthz");
  EXPECT_TRUE(req.headers.empty());
}

TEST(HttpResponse, Format) {
  const std::pair<std::string_view, std::string_view> extra[] = {{"Connection", "close"},
                                                                 {"Cache-Control", "no-store"}};
  EXPECT_EQ(http_response(200, "text/plain; version=0.0.4", "ok\n", extra),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4\r\n"
            "Content-Length: 3\r\n"
            "Connection: close\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n"
            "ok\n");
}

TEST(HttpResponse, NoContentTypeWhenEmptyAndReasonPhrases) {
  EXPECT_EQ(http_response(404, "", ""), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(http_response(400, "text/plain", "bad").substr(0, 26), "HTTP/1.1 400 Bad Request\r\n");
  EXPECT_EQ(http_reason_phrase(405), "Method Not Allowed");
  EXPECT_EQ(http_reason_phrase(503), "Service Unavailable");
  EXPECT_EQ(http_reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(http_reason_phrase(299), "Unknown");
}

TEST(HttpResponse, NoBodyStatuses) {
  EXPECT_EQ(http_response(204, "text/plain", "ignored"),
            "HTTP/1.1 204 No Content\r\n"
            "Content-Type: text/plain\r\n\r\n");
  EXPECT_EQ(http_response(101, "", "x"), "HTTP/1.1 101 Switching Protocols\r\n\r\n");
}

TEST(HttpResponse, InjectionDropped) {
  const std::pair<std::string_view, std::string_view> extra[] = {{"X-Evil", "a\r\nSet-Cookie: b"},
                                                                 {"X-Ok", "1"}};
  const std::string r = http_response(200, "text/plain", "", extra);
  EXPECT_EQ(r.find("Set-Cookie"), std::string::npos);
  EXPECT_NE(r.find("X-Ok: 1\r\n"), std::string::npos);
}

TEST(HttpResponse, ParsesBackAsHttp) {
  const std::string body(1000, 'z');
  const std::string r = http_response(200, "application/octet-stream", body);
  const size_t end = r.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(r.size() - end - 4, body.size());
  EXPECT_NE(r.find("Content-Length: 1000\r\n"), std::string::npos);
}

// The server end to end on a real socket (port 0): bodies split across writes, pipelined
// requests with bodies on one keep-alive connection, 413 and 100-continue.
class HttpServerBodies : public ::testing::Test {
 protected:
  void SetUp() override {
    loops_ = std::make_unique<LoopGroup>(1);
    auto s = HttpServer::start(
        *loops_, ListenAddress{"127.0.0.1", 0},
        [this](const HttpRequest& req) {
          if (req.target == "/later") {
            return HttpReply::deferred([this](HttpResponder r) {
              const std::lock_guard lock(mu_);
              pending_ = std::move(r);
              cv_.notify_all();
            });
          }
          if (req.method != "POST") {
            return HttpReply{405, "text/plain", "no\n", {{"Allow", "POST"}}};
          }
          return HttpReply{200, "text/plain", req.method + " " + req.target + " " + req.body, {}};
        },
        HttpLimits{8192, 64});
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
    loops_->start();
    auto fd = connect_tcp("127.0.0.1", server_->address().port);
    ASSERT_TRUE(fd.has_value()) << fd.error().message;
    fd_ = *fd;
    const int flags = fcntl(fd_, F_GETFL);
    ASSERT_EQ(fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK), 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    loops_->stop();
    server_.reset();
  }
  void write_all(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      s.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads until `count` complete responses (head + Content-Length body) or EOF.
  std::string read_responses(int count) {
    std::string in;
    int done = 0;
    size_t pos = 0;
    while (done < count) {
      const size_t end = in.find("\r\n\r\n", pos);
      if (end != std::string::npos) {
        const size_t cl = in.find("Content-Length: ", pos);
        size_t len = 0;
        if (cl != std::string::npos && cl < end) len = std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + len) {
          pos = end + 4 + len;
          ++done;
          continue;
        }
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    return in;
  }
  // The responder of the last deferred request, once the handler has run.
  HttpResponder wait_for_deferred() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return pending_.has_value(); });
    HttpResponder r = *pending_;
    pending_.reset();
    return r;
  }
  std::unique_ptr<LoopGroup> loops_;
  std::unique_ptr<HttpServer> server_;
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<HttpResponder> pending_;
};

TEST_F(HttpServerBodies, DeferredReplyFromAnotherThreadKeepsPipelinedOrder) {
  write_all(
      "GET /later HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz");
  HttpResponder r = wait_for_deferred();
  std::thread answer([r] {
    r.reply(HttpReply{202, "text/plain", "done later\n"});
    r.reply(HttpReply{500, "text/plain", "a second answer is ignored\n"});
  });
  answer.join();
  const std::string out = read_responses(2);
  const size_t a = out.find("202 Accepted");
  const size_t b = out.find("POST /b xyz");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_EQ(out.find("500"), std::string::npos) << out;
}

TEST_F(HttpServerBodies, PipelinedBodiesSplitAcrossWrites) {
  const std::string reqs =
      "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "DELETE /c HTTP/1.1\r\nHost: h\r\n\r\n";
  // Byte by byte for the first request's body, the rest in one write.
  const size_t split = reqs.find("hello") + 2;
  write_all(reqs.substr(0, split));
  write_all(reqs.substr(split, 1));
  write_all(reqs.substr(split + 1));
  const std::string out = read_responses(3);
  const size_t a = out.find("POST /a hello");
  const size_t b = out.find("POST /b xyz");
  const size_t c = out.find("405 Method Not Allowed");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(out.find("Allow: POST\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: keep-alive"), std::string::npos);
}

TEST_F(HttpServerBodies, TooLargeBodyIs413AndCloses) {
  write_all("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n");
  const std::string out = read_responses(1);
  EXPECT_EQ(out.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  char c;
  EXPECT_EQ(::recv(fd_, &c, 1, 0), 0);  // closed by the server
}

TEST_F(HttpServerBodies, ExpectContinue) {
  write_all("POST /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  std::string in;
  while (in.find("\r\n\r\n") == std::string::npos) {
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    in.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(in, "HTTP/1.1 100 Continue\r\n\r\n");
  write_all("ok");
  const std::string out = read_responses(1);
  EXPECT_NE(out.find("POST /a ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace verge::net
