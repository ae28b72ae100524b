#include "sim/edges_api.h"

#include <cctype>

#include "core/value.h"

namespace verge::sim {

namespace {

constexpr uint64_t kRequestTimeoutMs = 30000;

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::string error_text(int status, std::string_view body) {
  auto doc = parse_json(body);
  const Value* e = doc ? doc->find("error") : nullptr;
  std::string why =
      e != nullptr && e->is_string() ? e->as_string() : std::string(body.substr(0, 200));
  return "HTTP " + std::to_string(status) + (why.empty() ? "" : ": " + why);
}

}  // namespace

TokenAnswer token_answer(int status, std::string_view body) {
  if (status == 409) return {TokenAnswer::Kind::Exists, ""};
  if (status != 201 && status != 200) return {TokenAnswer::Kind::Failed, error_text(status, body)};
  auto doc = parse_json(body);
  const Value* token = doc ? doc->find("token") : nullptr;
  if (token == nullptr || !token->is_string() || token->as_string().empty()) {
    return {TokenAnswer::Kind::Failed, "the hub's answer has no token"};
  }
  return {TokenAnswer::Kind::Token, token->as_string()};
}

std::string create_node_body(std::string_view id, std::string_view prefix) {
  return Value(ValueObject{
                   {"id", id}, {"site", "sim"}, {"labels", Value(ValueObject{{"sim", prefix}})}})
      .to_json();
}

std::string desired_change_body(int64_t stamp) {
  const std::string name = "sim-" + std::to_string(stamp);
  ValueObject profile{{"name", name}, {"protocol", "modbus"}, {"points", Value(ValueArray{})}};
  return Value(ValueObject{{"rules", Value(ValueObject{})},
                           {"profiles", Value(ValueObject{{name, Value(std::move(profile))}})}})
      .to_json();
}

Result<std::unique_ptr<HubApi>> HubApi::create(net::EventLoop& loop, std::string_view api,
                                               std::string token, size_t parallel) {
  auto url = net::parse_http_url(api);
  if (!url) return unexpected(Error{"--api: " + url.error().message});
  // The paths are ours: a trailing '/' in --api must not make "//api/v1".
  if (url->target == "/") url->target.clear();
  return std::unique_ptr<HubApi>(new HubApi(loop, std::move(*url), std::move(token), parallel));
}

HubApi::HubApi(net::EventLoop& loop, net::HttpUrl base, std::string token, size_t parallel)
    : http_(loop), base_(std::move(base)), token_(std::move(token)), pacer_(parallel) {}

void HubApi::create_node(std::string_view id, std::string_view prefix, TokenDone done) {
  call("POST", "/api/v1/nodes", create_node_body(id, prefix),
       [done = std::move(done)](int status, std::string body) {
         done(status == 0 ? TokenAnswer{TokenAnswer::Kind::Failed, body}
                          : token_answer(status, body));
       });
}

void HubApi::new_token(std::string_view id, TokenDone done) {
  call("POST", "/api/v1/nodes/" + std::string(id) + "/token", "",
       [done = std::move(done)](int status, std::string body) {
         // 409 here: the node is active (enrolled) and its credentials are not in --state-dir.
         if (status == 409) {
           done({TokenAnswer::Kind::Failed,
                 "the node is already enrolled and its credentials are not in --state-dir"});
           return;
         }
         done(status == 0 ? TokenAnswer{TokenAnswer::Kind::Failed, body}
                          : token_answer(status, body));
       });
}

void HubApi::put_selector_desired(std::string_view selector, std::string body,
                                  std::function<void(int, std::string)> done) {
  call("PUT", "/api/v1/desired/selectors/" + url_encode(selector), std::move(body),
       std::move(done));
}

void HubApi::call(std::string method, std::string path, std::string body,
                  std::function<void(int, std::string)> done) {
  pacer_.acquire([this, method = std::move(method), path = std::move(path), body = std::move(body),
                  done = std::move(done)]() mutable {
    net::HttpClientRequest req;
    req.method = std::move(method);
    req.url = base_;
    req.url.target += path;
    req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
    req.body = std::move(body);
    req.timeout_ms = kRequestTimeoutMs;
    http_.request(std::move(req),
                  [this, done = std::move(done)](Result<net::HttpClientResponse> r) {
                    pacer_.release();
                    if (!r) {
                      done(0, r.error().message);
                      return;
                    }
                    done(r->status, std::move(r->body));
                  });
  });
}

}  // namespace verge::sim
