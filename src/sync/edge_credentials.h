// The node's enrolment result on disk (<data-dir>/sync/): node.key (0600), node.crt, ca.crt and
// node.json {"id","hub"}. Written once at enrolment, read at every start.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"

namespace verge::sync {

struct NodeCredentials {
  std::string node_id, hub;
  std::string key_pem, cert_pem, ca_pem;
};

// nullopt when the node is not enrolled (no node.crt); an error for a partial or unreadable set.
Result<std::optional<NodeCredentials>> load_credentials(const std::string& sync_dir);
// Each file replaced atomically; node.crt last, so its presence means the set is complete.
Result<void> save_credentials(const std::string& sync_dir, const NodeCredentials& creds);

}  // namespace verge::sync
