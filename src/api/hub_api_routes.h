// Internal to the hub API (hub_api*.cc): one call's context and the per-resource routes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "net/http.h"
#include "net/http_server.h"
#include "sync/hub.h"

namespace verge::api::hub {

struct HubCall {
  const net::HttpRequest& req;
  std::vector<std::string> seg;  // path segments after /api/v1, percent-decoded
  sync::Hub& hub;
  sync::ApiToken who;
  // Writes the change to the audit log (a failure is logged: the change itself happened).
  void audit(std::string_view action, std::string_view target, const Value& detail = {}) const;
};

// Status for an error of a hub or registry operation, judged by its message ("exists" -> 409,
// "unknown"/"no ..."/"not found" -> 404, anything else 400).
int status_for_message(const std::string& message);
net::HttpReply op_error(const Error& e);

// A query parameter as an unsigned or signed integer; a 400 reply when it is malformed.
std::optional<net::HttpReply> query_u64(const std::vector<std::pair<std::string, std::string>>& q,
                                        std::string_view name, uint64_t& out);
std::optional<net::HttpReply> query_i64(const std::vector<std::pair<std::string, std::string>>& q,
                                        std::string_view name, int64_t& out);

net::HttpReply route_hub(const HubCall& c);    // /hub
net::HttpReply route_nodes(const HubCall& c);  // /nodes, /nodes/{id}[/labels|revoke|token|devices]
net::HttpReply route_node_desired(const HubCall& c);  // /nodes/{id}/desired
net::HttpReply route_desired(const HubCall& c);       // /desired[/nodes/{id}|/selectors/{sel}]
net::HttpReply route_streams(const HubCall& c);       // /nodes/{id}/streams[/{stream}/records]
net::HttpReply route_alarms(const HubCall& c);        // /alarms
net::HttpReply route_tokens(const HubCall& c);        // /tokens[/{id}]
net::HttpReply route_audit(const HubCall& c);         // /audit

}  // namespace verge::api::hub
