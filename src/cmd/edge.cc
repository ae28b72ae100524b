#include "cmd/edge.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "api/api_reply.h"
#include "api/devices_api.h"
#include "api/ingest_api.h"
#include "api/rules_api.h"
#include "api/series_api.h"
#include "cmd/broker_bus.h"
#include "cmd/http_listener.h"
#include "cmd/stop_signals.h"
#include "core/log.h"
#include "core/metrics.h"
#include "devices/adapters/coap/coap_server.h"
#include "devices/adapters/http/ingest_counters.h"
#include "devices/adapters/modbus/modbus_counters.h"
#include "devices/manager.h"
#include "mqtt/broker.h"
#include "net/http_server.h"
#include "net/loop_group.h"
#include "rules/alarms.h"
#include "rules/manager.h"
#include "rules/uplink.h"
#include "store/metadata.h"
#include "store/tsdb.h"
#include "sync/edge_agent.h"

namespace verge::cmd {

namespace {

net::HttpHandler node_http_routes(metrics::Registry& registry, const store::Tsdb& tsdb,
                                  rules::RuleManager& rules, rules::AlarmService& alarms,
                                  devices::DeviceManager& devices,
                                  const std::unique_ptr<sync::EdgeAgent>& agent) {
  return [&registry, &tsdb, &rules, &alarms, &devices, &agent](const net::HttpRequest& req) {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    // The read-only endpoints answer GET (and HEAD) only; the REST API checks its own methods.
    const bool read_only = path == "/metrics" || path == "/healthz" || api::is_series_path(path);
    if (read_only && req.method != "GET" && req.method != "HEAD") {
      return net::HttpReply{
          405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET, HEAD"}}};
    }
    if (path == "/metrics") {
      return net::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
    }
    if (api::is_series_path(path)) return api::handle_series_request(tsdb, req);
    if (api::is_rules_path(path)) {
      if (auto reply = api::handle_rules_request(req, rules, &alarms)) return std::move(*reply);
    }
    if (api::is_devices_path(path)) return api::handle_devices_request(req, devices);
    if (api::is_ingest_path(path)) return api::handle_ingest_request(req, devices);
    if (path == "/healthz") return net::HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/api/v1/sync") {
      if (!agent) return api::error_reply(404, "this node is not connected to a hub (--hub)");
      return api::json_reply(200, agent->status());
    }
    return net::HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
  };
}

// The rule engine with the streams and rules of the configuration (and those saved over REST).
// A configured stream or rule that does not build stops start-up with the reason.
std::optional<std::unique_ptr<rules::RuleManager>> start_rules(
    const EdgeConfig& cfg, rules::Bus& bus, rules::AlarmService& alarms,
    rules::UplinkStreams& uplink, store::Tsdb& tsdb, store::MetadataStore& meta,
    rules::DeviceWriter& devices) {
  rules::ManagerOptions options;
  options.services.devices = &devices;
  options.services.bus = &bus;
  options.services.alarms = &alarms;
  options.services.uplink = &uplink;
  options.services.tsdb = &tsdb;
  options.meta = &meta;
  auto manager = rules::RuleManager::create(std::move(options));
  if (!manager) {
    log_error("cannot start the rule engine", {{"error", manager.error().message}});
    return std::nullopt;
  }
  for (size_t i = 0; i < cfg.streams.size(); ++i) {
    if (auto r = (*manager)->define_stream(cfg.streams[i], true); !r) {
      log_error("bad stream in the configuration",
                {{"item", "streams[" + std::to_string(i) + "]"}, {"error", r.error().message}});
      return std::nullopt;
    }
  }
  for (size_t i = 0; i < cfg.rules.size(); ++i) {
    const std::string item = "rules[" + std::to_string(i) + "]";
    auto spec = rules::RuleSpec::from_value(cfg.rules[i]);
    if (!spec) {
      log_error("bad rule in the configuration", {{"item", item}, {"error", spec.error().message}});
      return std::nullopt;
    }
    spec->from_config = true;
    // A configured rule replaces one of the same id saved over REST earlier.
    auto r = (*manager)->status(spec->id) ? (*manager)->update(*spec) : (*manager)->create(*spec);
    if (!r) {
      log_error("bad rule in the configuration",
                {{"item", item}, {"id", spec->id}, {"error", r.error().message}});
      return std::nullopt;
    }
  }
  const auto loaded = (*manager)->list().size();
  log_info("rule engine started", {{"streams", (*manager)->streams().size()}, {"rules", loaded}});
  return std::move(*manager);
}

// The device layer with the profiles and devices of the configuration (and those saved over
// REST). A configured item that does not validate stops start-up naming it.
std::unique_ptr<devices::DeviceManager> start_devices(const EdgeConfig& cfg, net::LoopGroup& loops,
                                                      rules::Bus& bus, store::Tsdb& tsdb,
                                                      const std::string& meta_path) {
  devices::DeviceManagerOptions options;
  options.loops = &loops;
  options.bus = &bus;
  options.tsdb = &tsdb;
  options.meta_path = meta_path;
  auto manager = devices::DeviceManager::create(std::move(options));
  if (!manager) {
    log_error("cannot start the device layer", {{"error", manager.error().message}});
    return nullptr;
  }
  // Errors read "profiles[boiler].points[2].type: ..." and "devices[2] (boiler-1): port: ...".
  for (size_t i = 0; i < cfg.profiles.size(); ++i) {
    if (auto r = (*manager)->put_profile(cfg.profiles[i], true); !r) {
      const Value* name = cfg.profiles[i].find("name");
      const std::string item =
          name != nullptr && name->is_string() ? name->as_string() : std::to_string(i);
      log_error("bad device profile in the configuration",
                {{"error", "profiles[" + item + "]." + r.error().message}});
      return nullptr;
    }
  }
  for (size_t i = 0; i < cfg.devices.size(); ++i) {
    if (auto r = (*manager)->put_device(cfg.devices[i], true); !r) {
      std::string item = "devices[" + std::to_string(i) + "]";
      const Value* id = cfg.devices[i].find("id");
      if (id != nullptr && id->is_string()) item += " (" + id->as_string() + ")";
      log_error("bad device in the configuration", {{"error", item + ": " + r.error().message}});
      return nullptr;
    }
  }
  return std::move(*manager);
}

}  // namespace

int run_edge(const EdgeConfig& cfg) {
  set_log_level(cfg.log_level);
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    log_error("cannot create data directory", {{"dir", cfg.data_dir}, {"error", ec.message()}});
    return 1;
  }
  // A corrupt meta.db, or one written by a newer verge, must stop start-up rather than be
  // overwritten; the error says which file and what to do.
  auto meta = store::MetadataStore::open(cfg.data_dir);
  if (!meta) {
    log_error("cannot open metadata store", {{"error", meta.error().message}});
    return 1;
  }
  log_info("metadata store opened",
           {{"path", (*meta)->path()}, {"schema_version", (*meta)->schema_version()}});
  StopSignals stop;  // before any thread starts

  net::LoopGroup loops(cfg.threads);
  metrics::Registry registry;
  metrics::add_process_metrics(registry);

  // Replays its WAL here: a store that cannot be opened stops start-up with the reason.
  store::TsdbOptions tsdb_options;
  tsdb_options.retention_ms = cfg.tsdb_retention_ms;
  tsdb_options.downsample_after_ms = cfg.tsdb_downsample_after_ms;
  tsdb_options.maintain_every_ms = 60'000;
  auto tsdb = store::Tsdb::open(cfg.data_dir + "/tsdb", tsdb_options);
  if (!tsdb) {
    log_error("cannot open time-series store", {{"error", tsdb.error().message}});
    return 1;
  }
  (*tsdb)->register_metrics(registry);

  auto broker = mqtt::Broker::create(cfg, loops);
  if (!broker) {
    log_error("cannot start broker", {{"error", broker.error().message}});
    return 1;
  }
  (*broker)->register_metrics(registry);

  BrokerBus bus(**broker);
  rules::AlarmService alarms(**meta, &bus);
  rules::UplinkOptions uplink_options;
  uplink_options.dir = cfg.data_dir + "/uplink";
  rules::UplinkStreams uplink(uplink_options);
  auto devices = start_devices(cfg, loops, bus, **tsdb, (*meta)->path());
  if (!devices) return 1;
  devices->register_metrics(registry);
  devices::register_ingest_metrics(registry);
  devices::modbus::register_modbus_metrics(registry);
  auto rule_manager = start_rules(cfg, bus, alarms, uplink, **tsdb, **meta, *devices);
  if (!rule_manager) return 1;
  (*rule_manager)->register_metrics(registry);

  // The hub link: applies the last desired state it received before anything connects, so a
  // node restarted without its hub runs what it ran before.
  std::unique_ptr<sync::EdgeAgent> agent;
  if (!cfg.sync.hub.empty()) {
    sync::EdgeAgentOptions o;
    o.data_dir = cfg.data_dir;
    o.hub = cfg.sync.hub;
    o.token = cfg.sync.token;
    o.version = VERGE_VERSION_STRING;
    o.heartbeat_ms = static_cast<uint64_t>(cfg.sync.heartbeat_ms);
    o.uplink_alarms = cfg.sync.uplink_alarms;
    o.uplink_samples = cfg.sync.uplink_samples;
    o.loops = &loops;
    o.broker = broker->get();
    o.streams = &uplink;
    o.rules = rule_manager->get();
    o.devices = devices.get();
    auto started = sync::EdgeAgent::start(std::move(o));
    if (!started) {
      log_error("cannot start the hub link", {{"error", started.error().message}});
      return 1;
    }
    agent = std::move(*started);
    agent->register_metrics(registry);
  }

  std::unique_ptr<net::HttpServer> http;
  if (!start_http_listener(
          loops, cfg.http_listen,
          node_http_routes(registry, **tsdb, **rule_manager, alarms, *devices, agent), http)) {
    return 1;
  }

  std::unique_ptr<devices::CoapServer> coap;
  if (cfg.coap_listen) {
    auto server = devices::CoapServer::start(*cfg.coap_listen, *devices);
    if (!server) {
      log_error("cannot start coap listener",
                {{"error", "coap-listen: " + server.error().message}});
      return 1;
    }
    coap = std::move(*server);
    log_info("listening", {{"listener", "coap"}, {"addr", to_string(coap->address())}});
  }

  loops.start();
  devices->start();
  log_info("verge edge started", {{"threads", loops.size()}, {"data_dir", cfg.data_dir}});

  log_info("shutting down", {{"signal", stop.wait()}});
  coap.reset();              // no more pushed readings
  if (agent) agent->stop();  // on loop 0, so before the loops stop
  (*broker)->shutdown();
  devices->stop();  // adapters stop on their loop threads, so before the loops
  loops.stop();     // no HTTP handler runs after this, so the rule manager can go
  agent.reset();    // it applies desired state through the managers, so before them
  rule_manager->reset();
  devices.reset();  // after the rule manager, whose device actions write through it
  http.reset();
  broker->reset();
  log_info("stopped");
  return 0;
}

}  // namespace verge::cmd
