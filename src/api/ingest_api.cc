#include "api/ingest_api.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "api/api_reply.h"
#include "devices/adapters/http/ingest_counters.h"
#include "devices/adapters/http/ingest_json.h"
#include "devices/adapters/http/line_protocol.h"

namespace verge::api {
namespace {

enum class BodyFormat { Json, LineProtocol, Unsupported };

// The media type without parameters, lower-cased: "Application/JSON; charset=utf-8" is JSON.
BodyFormat body_format(const net::HttpRequest& req) {
  auto header = req.header("Content-Type");
  if (!header) return BodyFormat::LineProtocol;  // what curl --data-binary and Telegraf send
  std::string_view t = header->substr(0, header->find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  std::string type(t);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (type == "application/json") return BodyFormat::Json;
  // curl --data-binary sends form-urlencoded unless told otherwise; InfluxDB takes it too.
  if (type == "text/plain" || type.empty() || type == "application/x-www-form-urlencoded") {
    return BodyFormat::LineProtocol;
  }
  return BodyFormat::Unsupported;
}

// {"error", "accepted", "rejected", "errors"}: one shape for every refusal, so a client reads
// the counts whatever went wrong.
net::HttpReply refusal(int status, std::string summary, size_t accepted, size_t rejected,
                       const std::vector<std::string>& errors) {
  ValueArray list;
  for (const auto& e : errors) list.emplace_back(e);
  ValueObject o;
  o.emplace_back("error", std::move(summary));
  o.emplace_back("accepted", static_cast<int64_t>(accepted));
  o.emplace_back("rejected", static_cast<int64_t>(rejected));
  o.emplace_back("errors", Value(std::move(list)));
  return json_reply(status, Value(std::move(o)));
}

net::HttpReply refuse_whole(int status, const std::string& message) {
  devices::http_ingest_counters().refused.inc();
  return refusal(status, message, 0, 0, {message});
}

struct Query {
  devices::Precision precision = devices::Precision::Ns;
  std::string device;  // default device of JSON items without one
};

std::optional<std::string> read_query(const net::HttpRequest& req, Query& q) {
  auto params = query_params(req.query());
  if (!params) return "bad percent-escape in the query";
  for (const auto& [key, value] : *params) {
    if (key == "precision") {
      auto p = devices::parse_precision(value);
      if (!p) return "precision: expected ns, us, ms or s, got '" + value + "'";
      q.precision = *p;
    } else if (key == "device") {
      q.device = value;
    }
    // Others (db, bucket, org from InfluxDB clients) mean nothing here and are ignored.
  }
  return std::nullopt;
}

}  // namespace

bool is_ingest_path(std::string_view path) { return path == "/api/v1/ingest"; }

net::HttpReply handle_ingest_request(const net::HttpRequest& req, devices::IngestSink& sink) {
  if (req.method != "POST") return method_not_allowed("POST");
  const BodyFormat format = body_format(req);
  if (format == BodyFormat::Unsupported) {
    return refuse_whole(415,
                        "unsupported Content-Type '" + std::string(*req.header("Content-Type")) +
                            "' (application/json for JSON samples, text/plain for line protocol)");
  }
  const devices::IngestLimits limits;
  if (req.body.size() > limits.max_body_bytes) {
    return refuse_whole(
        413, "body over the limit of " + std::to_string(limits.max_body_bytes) + " bytes");
  }
  Query q;
  if (auto err = read_query(req, q)) return refuse_whole(400, *err);
  devices::http_ingest_counters().requests.inc();

  devices::DecodedReadings decoded;
  if (format == BodyFormat::Json) {
    auto r = devices::decode_ingest_json(req.body, q.device, limits);
    if (!r) return refuse_whole(400, r.error().message);
    decoded = std::move(*r);
  } else {
    decoded = devices::decode_line_protocol(req.body, q.precision, limits);
  }
  if (decoded.readings.empty() && decoded.rejected == 0) {
    return refuse_whole(400, "no readings in the body");
  }

  devices::IngestResult result;
  if (!decoded.readings.empty()) result = sink.ingest("http", decoded.readings);
  const size_t rejected = decoded.rejected + result.rejected;
  auto& counters = devices::http_ingest_counters();
  counters.readings.inc(result.accepted);
  counters.rejected.inc(rejected);
  if (rejected == 0) return net::HttpReply{204, "", ""};

  std::vector<std::string> errors = std::move(decoded.errors);
  for (auto& e : result.errors) {
    if (errors.size() >= devices::DecodedReadings::kMaxErrors) break;
    errors.push_back(std::move(e));
  }
  return refusal(
      400, std::to_string(rejected) + " rejected, " + std::to_string(result.accepted) + " accepted",
      result.accepted, rejected, errors);
}

}  // namespace verge::api
