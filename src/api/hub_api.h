// The hub's REST API (`verge cloud`, docs/hub-api.md, docs/openapi.yaml): nodes and their devices,
// desired state per node or label selector, uplink records, alarms, API tokens and the audit log.
// Every request needs `Authorization: Bearer <token>` (401 otherwise); the token's role decides
// what it may do: viewer reads, operator also changes nodes and desired state, admin also manages
// tokens and reads the audit log (403 otherwise). Every successful change is written to the audit
// log (who = the token's name); secrets (enrolment and API tokens) never are.
#pragma once

#include <string_view>

#include "net/http.h"
#include "net/http_server.h"
#include "sync/hub.h"

namespace verge::api {

// True for /api/v1/hub, /nodes, /desired, /alarms, /tokens, /audit and below.
bool is_hub_api_path(std::string_view path);

net::HttpReply handle_hub_request(const net::HttpRequest& req, sync::Hub& hub);

}  // namespace verge::api
