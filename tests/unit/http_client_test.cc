#include "net/http_client.h"

#include <gtest/gtest.h>

#include "rules_test_util.h"

namespace verge::net {
namespace {

using rules::testing::run_until;
using rules::testing::TestHttpServer;

HttpClientRequest post(const TestHttpServer& server, std::string body, uint64_t timeout_ms = 5000) {
  HttpClientRequest req;
  req.url = *parse_http_url(server.url("/hook?x=1"));
  req.headers = {{"Content-Type", "application/json"}, {"X-Token", "t1"}};
  req.body = std::move(body);
  req.timeout_ms = timeout_ms;
  return req;
}

// Sends one request on a fresh loop and returns its result.
Result<HttpClientResponse> call(HttpClientRequest req) {
  EventLoop loop(0);
  HttpClient client(loop);
  std::optional<Result<HttpClientResponse>> got;
  client.request(std::move(req), [&](Result<HttpClientResponse> r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value());  // never called back from inside request()
  EXPECT_TRUE(run_until(loop, [&] { return got.has_value(); }));
  if (!got) return unexpected(Error{"no result"});
  return std::move(*got);
}

TEST(HttpUrl, ParsesLiteralsAndLocalhost) {
  auto u = parse_http_url("http://127.0.0.1:8080/a/b?c=d");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b?c=d");
  auto v6 = parse_http_url("http://[::1]:9/x");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9);
  auto local = parse_http_url("http://localhost");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->port, 80);
  EXPECT_EQ(local->target, "/");
  auto query = parse_http_url("http://10.0.0.1?q=1");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->target, "/?q=1");
}

TEST(HttpUrl, RefusesWhatItCannotDo) {
  auto https = parse_http_url("https://127.0.0.1/x");
  ASSERT_FALSE(https);
  EXPECT_NE(https.error().message.find("https is not supported"), std::string::npos);
  auto name = parse_http_url("http://example.com/x");
  ASSERT_FALSE(name);
  EXPECT_NE(name.error().message.find("not an IP address or localhost"), std::string::npos);
  for (const char* bad :
       {"ftp://1.2.3.4/", "http://", "http://1.2.3.4:0/", "http://1.2.3.4:99999/",
        "http://1.2.3.4:x/", "http://[::1/", "http://1.2.3.4/a b", "http://u:p@1.2.3.4/"}) {
    EXPECT_FALSE(parse_http_url(bad)) << bad;
  }
}

TEST(HttpResponseHead, ParsesStatusAndHeaders) {
  HttpClientResponse r;
  auto n = parse_http_response_head("HTTP/1.1 201 Created\r\nA: 1\r\nB:  two \r\n\r\nbody", r);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 40u);  // 22 + 6 + 10 + 2
  EXPECT_EQ(r.status, 201);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[1].second, "two");
  EXPECT_EQ(*parse_http_response_head("HTTP/1.1 200 OK\r\nA: 1\r\n", r), 0u);  // needs more
  EXPECT_FALSE(parse_http_response_head("HTTX/1.1 200 OK\r\n\r\n", r));
  EXPECT_FALSE(parse_http_response_head("HTTP/1.1 2x0 OK\r\n\r\n", r));
  EXPECT_FALSE(parse_http_response_head("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", r));
}

TEST(HttpResponse, FramingByLengthChunksOrClose) {
  auto whole = [](std::string_view in, bool eof, bool head = false) {
    auto r = parse_http_response(in, eof, head);
    if (!r) return "error: " + r.error().message;
    if (!r->has_value()) return std::string("more");
    return std::to_string((*r)->status) + " " + (*r)->body;
  };
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false), "200 ok");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", false), "more");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", true),
            "error: connection closed before the response ended");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false),
            "error: bad Content-Length in the response");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", false),
            "more");
  EXPECT_EQ(
      whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", false),
      "200 ab");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", false),
            "error: chunk not followed by CRLF in the response");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false),
            "error: unsupported transfer coding 'gzip' in the response");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\n\r\nbody", false), "more");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\n\r\nbody", true), "200 body");
  EXPECT_EQ(whole("HTTP/1.1 204 No Content\r\n\r\n", false), "204 ");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", false, true), "200 ");
  EXPECT_EQ(
      whole("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 C\r\nContent-Length: 0\r\n\r\n", false),
      "201 ");
  EXPECT_EQ(whole("HTTP/1.1 200 OK\r\nA: 1", true),
            "error: connection closed before the response ended");
}

TEST(HttpClient, PostsABodyAndReadsAContentLengthResponse) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::status(202); });
  auto r = call(post(server, R"({"t":1})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "ok");
  const auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  const std::string& req = got[0];
  EXPECT_EQ(req.rfind("POST /hook?x=1 HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(req.find("Content-Length: 7\r\n"), std::string::npos);
  EXPECT_NE(req.find("X-Token: t1\r\n"), std::string::npos);
  EXPECT_NE(req.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(req.substr(req.size() - 7), R"({"t":1})");
}

TEST(HttpClient, ReadsChunkedAndCloseDelimitedBodies) {
  TestHttpServer server([](int n, const std::string&) {
    TestHttpServer::Reply r;
    if (n == 0) {
      r.raw =
          "HTTP/1.1 100 Continue\r\n\r\n"
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    } else {
      r.raw = "HTTP/1.0 500 Internal\r\n\r\nuntil close";
    }
    return r;
  });
  auto chunked = call(post(server, "a"));
  ASSERT_TRUE(chunked) << chunked.error().message;
  EXPECT_EQ(chunked->status, 200);
  EXPECT_EQ(chunked->body, "hello world");
  auto closed = call(post(server, "b"));
  ASSERT_TRUE(closed) << closed.error().message;
  EXPECT_EQ(closed->status, 500);
  EXPECT_EQ(closed->body, "until close");
}

TEST(HttpClient, MalformedAndTruncatedResponsesAreErrors) {
  TestHttpServer server([](int n, const std::string&) {
    TestHttpServer::Reply r;
    r.raw = n == 0 ? "garbage\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    return r;
  });
  auto bad = call(post(server, ""));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad status line"), std::string::npos);
  auto truncated = call(post(server, ""));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().message, "connection closed before the response ended");
}

TEST(HttpClient, ServerThatNeverAnswersTimesOut) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::silent(); });
  auto r = call(post(server, "x", 150));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "timeout after 150 ms");
  EXPECT_EQ(server.requests(), 1);
}

TEST(HttpClient, RefusedConnectionIsAnError) {
  // A port that was just bound and closed: nothing listens there.
  uint16_t port = 0;
  {
    TestHttpServer gone([](int, const std::string&) { return TestHttpServer::status(200); });
    port = gone.port();
  }
  HttpClientRequest req;
  req.url = *parse_http_url("http://127.0.0.1:" + std::to_string(port) + "/");
  auto r = call(std::move(req));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
}

TEST(HttpClient, DestroyedClientAbandonsRequestsWithoutCallbacks) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::silent(); });
  EventLoop loop(0);
  int callbacks = 0;
  auto client = std::make_unique<HttpClient>(loop);
  for (int i = 0; i < 3; ++i) {
    client->request(post(server, "x", 60'000), [&](Result<HttpClientResponse>) { ++callbacks; });
  }
  EXPECT_EQ(client->in_flight(), 3u);
  bool destroyed = false;
  EXPECT_TRUE(run_until(loop, [&] {
    if (server.requests() < 3) return false;
    if (!destroyed) {
      client.reset();
      destroyed = true;
      return false;  // one more iteration: the abandoned calls are freed there
    }
    return true;
  }));
  EXPECT_EQ(callbacks, 0);
}

}  // namespace
}  // namespace verge::net
