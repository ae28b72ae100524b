#include "sync/edge_enrol.h"

#include <cctype>

#include "core/log.h"
#include "core/value.h"
#include "mqtt/client.h"
#include "net/tls_client.h"
#include "sync/topics.h"

namespace verge::sync {

namespace {

bool same_hex(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<NodeCredentials> credentials_from_reply(std::string_view payload, const EnrolRequest& req,
                                               const NodeKey& key) {
  auto doc = parse_json(payload);
  if (!doc || !doc->is_object()) return unexpected(Error{"enrolment: the hub's reply is not JSON"});
  if (const Value* e = doc->find("error"); e != nullptr) {
    return unexpected(
        Error{"enrolment refused by the hub: " + (e->is_string() ? e->as_string() : e->to_json())});
  }
  const Value* cert = doc->find("cert");
  const Value* ca = doc->find("ca");
  if (cert == nullptr || !cert->is_string() || ca == nullptr || !ca->is_string()) {
    return unexpected(Error{"enrolment: the hub's reply has no cert and ca"});
  }
  auto pin = cert_sha256(ca->as_string());
  if (!pin) return unexpected(Error{"enrolment: the hub's CA: " + pin.error().message});
  if (!same_hex(*pin, req.token.ca_sha256)) {
    return unexpected(Error{"enrolment: the hub's CA does not match the token's pin"});
  }
  auto info = cert_info(cert->as_string());
  if (!info) return unexpected(Error{"enrolment: the certificate: " + info.error().message});
  if (info->common_name != req.token.node_id) {
    return unexpected(
        Error{"enrolment: the certificate names '" + info->common_name + "', not this node"});
  }
  NodeCredentials c;
  c.node_id = req.token.node_id;
  c.hub = req.hub;
  c.key_pem = key.key_pem;
  c.cert_pem = cert->as_string();
  c.ca_pem = ca->as_string();
  return c;
}

Result<std::unique_ptr<EdgeEnrolment>> EdgeEnrolment::start(net::EventLoop& loop, EnrolRequest req,
                                                            Done done, Problem problem) {
  auto key = make_node_key_and_csr(req.token.node_id);
  if (!key) return unexpected(Error{"enrolment: " + key.error().message});
  net::TlsClientSettings tls;
  tls.ca_sha256 = req.token.ca_sha256;
  auto ctx = net::TlsClientContext::create(tls);
  if (!ctx) return unexpected(Error{"enrolment: " + ctx.error().message});

  std::unique_ptr<EdgeEnrolment> e(new EdgeEnrolment());
  e->req_ = std::move(req);
  e->key_ = std::move(*key);
  e->done_ = std::move(done);
  e->problem_ = std::move(problem);

  mqtt::ClientOptions o;
  o.host = e->req_.host;
  o.port = e->req_.port;
  o.tls = *ctx;
  o.client_id = e->req_.token.node_id;
  o.username = "enroll";
  o.password = e->req_.token_text;
  EdgeEnrolment* self = e.get();
  mqtt::ClientHandlers h;
  h.on_connected = [self](const mqtt::ConnackInfo&) {
    if (self->finished_) return;
    log_info("enrolling with the hub",
             {{"node", self->req_.token.node_id}, {"hub", self->req_.hub}});
    const std::string body = Value(ValueObject{{"csr", self->key_.csr_pem}}).to_json();
    self->client_->publish(topics::enroll(self->req_.token.node_id), body, 1, false);
  };
  h.on_disconnected = [self](std::string_view reason) {
    if (self->finished_) return;
    log_warn("enrolment: no connection to the hub", {{"hub", self->req_.hub}, {"reason", reason}});
    if (self->problem_) self->problem_(reason);
  };
  h.on_message = [self](std::string_view topic, std::string_view payload, bool) {
    if (self->finished_ || topic != topics::enroll_reply(self->req_.token.node_id)) return;
    self->finished_ = true;
    self->done_(credentials_from_reply(payload, self->req_, self->key_));
  };
  e->client_ = std::make_unique<mqtt::Client>(loop, std::move(o), std::move(h));
  // Subscribed before the CSR goes out (sent first on every connection), so the reply is seen.
  e->client_->subscribe(topics::enroll_reply(e->req_.token.node_id), 1);
  e->client_->start();
  return e;
}

EdgeEnrolment::~EdgeEnrolment() {
  if (client_) client_->stop();
}

}  // namespace verge::sync
