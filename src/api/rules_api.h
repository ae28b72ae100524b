// The REST API of the rule engine (docs/rules/api.md):
//   GET  /api/v1/rules                      rules with their state and main counters
//   POST /api/v1/rules                      create (201 + Location; 409 if the id exists)
//   GET|PUT|DELETE /api/v1/rules/{id}       the spec; replace; delete (204)
//   POST /api/v1/rules/{id}/start|stop|restart
//   GET  /api/v1/rules/{id}/status          counters, latency percentiles, action counters
//   POST /api/v1/rules/validate             {"sql": ...} -> {"valid": true|false, ...}
//   GET|POST /api/v1/streams, GET|DELETE /api/v1/streams/{name}
//   GET  /api/v1/alarms[?active=true&severity=major&key=prefix&limit=N]
//   GET  /api/v1/alarms/{id}, POST /api/v1/alarms/{id}/ack {"by": "..."}
// Bodies and replies are JSON. Errors are {"error": "..."} with 400 (bad body or spec: SQL errors
// add "line" and "column", malformed JSON adds "offset"), 404 (unknown id or path), 405 (with
// Allow), 409 (exists or conflict), 500 (the metadata store failed).
// Thread-safety: runs on a loop thread; the manager's calls wait for its engine thread (short).
#pragma once

#include <optional>
#include <string_view>

#include "net/http.h"
#include "net/http_server.h"
#include "rules/alarms.h"
#include "rules/manager.h"

namespace verge::api {

// True for /api/v1/rules, /api/v1/streams, /api/v1/alarms and below.
bool is_rules_path(std::string_view path);

// Answers a request of this API; nullopt for paths it does not own. `alarms` may be null (the
// alarm routes then answer 503).
std::optional<net::HttpReply> handle_rules_request(const net::HttpRequest& req,
                                                   rules::RuleManager& manager,
                                                   rules::AlarmService* alarms);

}  // namespace verge::api
