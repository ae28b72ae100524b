#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

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
  auto name = parse_http_url("http://exa_mple.com/x");
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().message, "host 'exa_mple.com' is not an IP address or a host name");
  auto named = parse_http_url("http://hooks.example.com:8080/x");
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->host, "hooks.example.com");
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

TEST(HttpClient, ResolvesNamesOffTheLoopThread) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::status(200); });
  EventLoop loop(0);
  const auto loop_thread = std::this_thread::get_id();
  std::atomic<int> lookups{0};
  HttpClientOptions options;
  options.resolver = [&](const std::string& host, uint16_t port) -> Result<ResolvedAddress> {
    EXPECT_NE(std::this_thread::get_id(), loop_thread);  // getaddrinfo would block the loop
    ++lookups;
    if (host != "hooks.test") return unexpected(Error{"cannot resolve host '" + host + "'"});
    return resolve_host("127.0.0.1", port);
  };
  HttpClient client(loop, options);
  std::vector<std::string> results;
  for (const char* host : {"hooks.test", "nx.test"}) {
    HttpClientRequest req;
    req.url = *parse_http_url("http://" + std::string(host) + ":" + std::to_string(server.port()) +
                              "/named");
    client.request(std::move(req), [&](Result<HttpClientResponse> r) {
      results.push_back(r ? std::to_string(r->status) : r.error().message);
    });
  }
  EXPECT_TRUE(run_until(loop, [&] { return results.size() == 2; }));
  std::sort(results.begin(), results.end());
  EXPECT_EQ(results, (std::vector<std::string>{"200", "cannot resolve host 'nx.test'"}));
  EXPECT_EQ(lookups.load(), 2);
  const auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("Host: hooks.test:"), std::string::npos);
}

TEST(HttpClient, ResolveHostUsesTheSystemResolver) {
  auto local = resolve_host("localhost", 8080);
  ASSERT_TRUE(local) << local.error().message;
  ASSERT_EQ(local->addr.ss_family, AF_INET);  // IPv4 first
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&local->addr);
  EXPECT_EQ(ntohs(v4->sin_port), 8080);
  EXPECT_EQ(ntohl(v4->sin_addr.s_addr), 0x7f000001u);
  EXPECT_FALSE(resolve_host("no-such-host.invalid", 80));  // RFC 6761: never resolves
}

TEST(HttpClient, ClientDestroyedDuringALookupIsNeverCalledBack) {
  EventLoop loop(0);
  // Shared with the resolver thread, which may outlive this test's frame by a moment.
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    std::atomic<bool> returned{false};
  };
  auto gate = std::make_shared<Gate>();
  HttpClientOptions options;
  options.resolver = [gate](const std::string&, uint16_t) -> Result<ResolvedAddress> {
    {
      std::unique_lock lock(gate->mu);
      gate->cv.wait(lock, [&] { return gate->release; });
    }
    auto r = resolve_host("127.0.0.1", 9);
    gate->returned = true;
    return r;
  };
  int callbacks = 0;
  {
    HttpClient client(loop, options);
    HttpClientRequest req;
    req.url = *parse_http_url("http://slow.test/x");
    client.request(std::move(req), [&](Result<HttpClientResponse>) { ++callbacks; });
  }
  {
    std::lock_guard lock(gate->mu);
    gate->release = true;
  }
  gate->cv.notify_all();
  // The lookup ends after the client is gone: nothing may be posted for it. The loop runs on
  // for a while after the lookup returned, where a stray post would have been delivered.
  TimerQueue timers(loop);
  bool later = false;
  bool armed = false;
  EXPECT_TRUE(run_until(loop, [&] {
    if (gate->returned && !armed) {
      armed = true;
      timers.after(50, [&] { later = true; });
    }
    return later;
  }));
  EXPECT_EQ(callbacks, 0);
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
