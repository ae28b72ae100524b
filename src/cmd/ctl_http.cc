#include "cmd/ctl_http.h"

#include <optional>

#include "net/event_loop.h"

namespace verge::cmd::ctl {

Result<net::HttpClientResponse> http_call(const std::string& api, const std::string& method,
                                          const std::string& path, const std::string& token,
                                          const std::string& body, uint64_t timeout_ms) {
  auto url = net::parse_http_url(api);
  if (!url) return unexpected(Error{"--api: " + url.error().message});
  std::string base = url->target;
  while (!base.empty() && base.back() == '/') base.pop_back();
  url->target = base + path;

  net::HttpClientRequest req;
  req.method = method;
  req.url = std::move(*url);
  req.timeout_ms = timeout_ms;
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = body;

  // The client lives and dies on this thread, which runs the loop until the answer came.
  net::EventLoop loop(0);
  std::optional<Result<net::HttpClientResponse>> result;
  {
    net::HttpClientOptions options;
    options.max_response_bytes = size_t{64} << 20;  // record pages can be large
    net::HttpClient client(loop, options);
    client.request(std::move(req), [&](Result<net::HttpClientResponse> r) {
      result.emplace(std::move(r));
      loop.stop();
    });
    loop.run();
  }
  if (!result) return unexpected(Error{"no answer"});
  return std::move(*result);
}

}  // namespace verge::cmd::ctl
