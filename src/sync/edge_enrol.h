// The enrolment exchange of a node with its hub (once, before it has a certificate): TLS to the
// hub verified by the CA pin in the token, CONNECT as (client id = node id, username "enroll",
// password = the token), {"csr"} on verge/enroll/<node>, and the answer {"cert","ca"} or
// {"error"} on verge/enroll/<node>/reply. The CA received must match the token's pin and the
// certificate must name the node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/event_loop.h"
#include "sync/edge_credentials.h"
#include "sync/pki.h"

namespace verge::mqtt {
class Client;
}

namespace verge::sync {

struct EnrolRequest {
  std::string host;
  uint16_t port = 0;
  std::string hub;         // as given (stored in node.json)
  std::string token_text;  // the whole token: the CONNECT password
  EnrolToken token;
};

// Checks the hub's answer against the token and the key: errors say what is wrong.
Result<NodeCredentials> credentials_from_reply(std::string_view payload, const EnrolRequest& req,
                                               const NodeKey& key);

class EdgeEnrolment {
 public:
  // `done` runs once, on the loop thread, inside the client's handler: the owner must not destroy
  // the enrolment from it (defer with EventLoop::next_iteration). `problem` reports connection
  // failures while it keeps retrying (for the node's status).
  using Done = std::function<void(Result<NodeCredentials>)>;
  using Problem = std::function<void(std::string_view)>;

  // Loop thread only (constructor, destructor and all). Makes the key and CSR and connects.
  static Result<std::unique_ptr<EdgeEnrolment>> start(net::EventLoop& loop, EnrolRequest req,
                                                      Done done, Problem problem);
  ~EdgeEnrolment();
  EdgeEnrolment(const EdgeEnrolment&) = delete;
  EdgeEnrolment& operator=(const EdgeEnrolment&) = delete;

 private:
  EdgeEnrolment() = default;
  EnrolRequest req_;
  NodeKey key_;
  Done done_;
  Problem problem_;
  bool finished_ = false;
  std::unique_ptr<mqtt::Client> client_;
};

}  // namespace verge::sync
