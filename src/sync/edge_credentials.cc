#include "sync/edge_credentials.h"

#include "core/file.h"
#include "core/value.h"
#include "sync/edge_files.h"
#include "sync/topics.h"

namespace verge::sync {

Result<std::optional<NodeCredentials>> load_credentials(const std::string& sync_dir) {
  if (!file_exists(sync_dir + "/node.crt")) return std::optional<NodeCredentials>();
  NodeCredentials c;
  auto info = read_text_file(sync_dir + "/node.json", "node identity");
  if (!info) return unexpected(info.error());
  auto doc = parse_json(*info);
  const Value* id = doc ? doc->find("id") : nullptr;
  if (id == nullptr || !id->is_string() || !topics::valid_name(id->as_string())) {
    return unexpected(Error{sync_dir + "/node.json: expected {\"id\": node id, \"hub\": ...}"});
  }
  c.node_id = id->as_string();
  if (const Value* hub = doc->find("hub"); hub != nullptr && hub->is_string()) {
    c.hub = hub->as_string();
  }
  auto key = read_text_file(sync_dir + "/node.key", "node key");
  if (!key) return unexpected(key.error());
  auto cert = read_text_file(sync_dir + "/node.crt", "node certificate");
  if (!cert) return unexpected(cert.error());
  auto ca = read_text_file(sync_dir + "/ca.crt", "hub CA certificate");
  if (!ca) return unexpected(ca.error());
  c.key_pem = std::move(*key);
  c.cert_pem = std::move(*cert);
  c.ca_pem = std::move(*ca);
  return std::optional<NodeCredentials>(std::move(c));
}

Result<void> save_credentials(const std::string& sync_dir, const NodeCredentials& c) {
  if (auto r = make_private_dir(sync_dir); !r) return r;
  const std::string info = Value(ValueObject{{"id", c.node_id}, {"hub", c.hub}}).to_json();
  if (auto r = write_file_atomic(sync_dir + "/node.key", c.key_pem, 0600); !r) return r;
  if (auto r = write_file_atomic(sync_dir + "/ca.crt", c.ca_pem, 0644); !r) return r;
  if (auto r = write_file_atomic(sync_dir + "/node.json", info, 0644); !r) return r;
  return write_file_atomic(sync_dir + "/node.crt", c.cert_pem, 0644);
}

}  // namespace verge::sync
