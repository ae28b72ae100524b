// The hub REST calls of `verge sim edges`: create a node (POST /api/v1/nodes), get a new token
// for a pending one (POST /api/v1/nodes/<id>/token) and set the simulated nodes' desired state
// (PUT /api/v1/desired/selectors/sim=<prefix>). One client per event loop; at most `parallel`
// requests at a time on it (each request is its own connection). Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/http_client.h"
#include "sim/edges_pacer.h"

namespace verge::sim {

// What the hub said to a create or token request.
struct TokenAnswer {
  enum class Kind { Token, Exists, Failed } kind = Kind::Failed;
  std::string text;  // Token: the enrolment token; Failed: why
};
// 201 {"token"} -> Token; 409 -> Exists; anything else -> Failed with the status and the hub's
// {"error"} message.
TokenAnswer token_answer(int status, std::string_view body);

// {"id","site":"sim","labels":{"sim":"<prefix>"}}
std::string create_node_body(std::string_view id, std::string_view prefix);
// A document that differs from every earlier one (a profile named after `stamp`), so each PUT
// gives every node a new version: {"rules":{},"profiles":{"sim-<stamp>":{...}}}.
std::string desired_change_body(int64_t stamp);

class HubApi {
 public:
  // `api`: "http://HOST:PORT"; errors say what is wrong with it.
  static Result<std::unique_ptr<HubApi>> create(net::EventLoop& loop, std::string_view api,
                                                std::string token, size_t parallel);

  using TokenDone = std::function<void(const TokenAnswer&)>;
  void create_node(std::string_view id, std::string_view prefix, TokenDone done);
  void new_token(std::string_view id, TokenDone done);
  // `done(status, body)`; status 0: no answer (body says why).
  void put_selector_desired(std::string_view selector, std::string body,
                            std::function<void(int, std::string)> done);

 private:
  HubApi(net::EventLoop& loop, net::HttpUrl base, std::string token, size_t parallel);
  void call(std::string method, std::string path, std::string body,
            std::function<void(int, std::string)> done);

  net::HttpClient http_;
  net::HttpUrl base_;
  std::string token_;
  Pacer pacer_;
};

}  // namespace verge::sim
