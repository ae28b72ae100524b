// POST /api/v1/ingest: devices (or gateways in front of them) push readings over HTTP, as JSON
// samples or as InfluxDB line protocol (docs/devices.md, "HTTP ingest").
#pragma once

#include <string_view>

#include "devices/ingest.h"
#include "net/http.h"
#include "net/http_server.h"

namespace verge::api {

bool is_ingest_path(std::string_view path);  // "/api/v1/ingest"
// Content-Type application/json: JSON samples; text/plain: line protocol (?precision=ns|us|ms|s).
// 204 when every reading was accepted, 400 with the errors when some were not (the others are
// kept), 413/415 for bodies it cannot take.
net::HttpReply handle_ingest_request(const net::HttpRequest& req, devices::IngestSink& sink);

}  // namespace verge::api
