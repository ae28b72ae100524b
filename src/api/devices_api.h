// The REST API of the device layer (docs/devices/model.md):
//   GET|POST /api/v1/profiles, GET|PUT|DELETE /api/v1/profiles/{name}
//   GET|POST /api/v1/devices,  GET|PUT|DELETE /api/v1/devices/{id}
//   GET /api/v1/devices/{id}/twin, GET /api/v1/devices/{id}/commands
//   PUT /api/v1/devices/{id}/desired   {"values": {...}, "ttl": "1h", "wait": "5s"} or {...}
// Errors are {"error": "..."}: 400 (bad body, naming the field), 404, 405 (with Allow), 409
// (exists, in use, or declared in the node's YAML), 500 (the metadata store failed).
// PUT desired is answered once its commands finished or `wait` passed (never blocking a loop):
// 200 all applied, 202 some queued (device offline, or wait 0), 502 the device refused or a
// write failed, 504 no answer in time (write timeout, TTL expired, or still in flight).
#pragma once

#include <string_view>

#include "devices/manager.h"
#include "net/http.h"
#include "net/http_server.h"

namespace verge::api {

// True for /api/v1/profiles, /api/v1/devices and below.
bool is_devices_path(std::string_view path);

net::HttpReply handle_devices_request(const net::HttpRequest& req, devices::DeviceManager& manager);

// The HTTP status for the results of a desired call ({point, command, status, error?} each).
int desired_status(const Value& results, bool waited);

}  // namespace verge::api
