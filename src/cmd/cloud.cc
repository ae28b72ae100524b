#include "cmd/cloud.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/hub_api.h"
#include "cmd/http_listener.h"
#include "cmd/stop_signals.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "mqtt/broker.h"
#include "net/http_server.h"
#include "net/loop_group.h"
#include "sync/hub.h"

namespace verge::cmd {

namespace {

net::HttpHandler hub_http_routes(metrics::Registry& registry, sync::Hub& hub) {
  return [&registry, &hub](const net::HttpRequest& req) {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (path == "/metrics") {
      return net::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
    }
    if (path == "/healthz") return net::HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
    if (api::is_hub_api_path(path)) return api::handle_hub_request(req, hub);
    return net::HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
  };
}

// The first start makes an admin token and shows it once: only its hash is kept.
bool ensure_admin_token(sync::Registry& registry, const std::string& file) {
  if (registry.has_api_tokens()) return true;
  auto token = registry.create_api_token("admin", sync::Role::Admin, wall_ms());
  if (!token) {
    log_error("cannot create the admin token", {{"error", token.error().message}});
    return false;
  }
  std::printf(
      "\nAdmin API token (shown once, only its hash is stored; keep it safe):\n\n    %s\n\n"
      "Use it as: export VERGE_TOKEN=%s; verge ctl node list\n\n",
      token->c_str(), token->c_str());
  std::fflush(stdout);
  if (!file.empty()) {
    const mode_t old = umask(077);
    std::ofstream out(file, std::ios::trunc);
    out << *token << '\n';
    umask(old);
    if (!out) {
      log_error("cannot write the admin token file", {{"file", file}});
      return false;
    }
  }
  return true;
}

}  // namespace

EdgeConfig cloud_defaults() {
  EdgeConfig cfg;
  cfg.data_dir = "./verge-hub";
  cfg.mqtts_listen = ListenAddress{"0.0.0.0", 8883};
  return cfg;
}

int run_cloud(const EdgeConfig& config) {
  set_log_level(config.log_level);
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    log_error("cannot create data directory", {{"dir", config.data_dir}, {"error", ec.message()}});
    return 1;
  }
  if (!config.mqtts_listen) {
    log_error("verge cloud needs its edge listener: mqtts-listen must not be off");
    return 1;
  }
  // Before any thread starts (the hub's own open() starts some): threads inherit the blocked
  // signals, so SIGTERM reaches the waiter instead of killing the process.
  StopSignals stop;
  sync::HubOptions options;
  options.data_dir = config.data_dir;
  options.storage = config.sync.storage;
  options.server_names = config.sync.server_names;
  auto hub = sync::Hub::open(options);
  if (!hub) {
    log_error("cannot open the hub", {{"error", hub.error().message}});
    return 1;
  }
  if (!ensure_admin_token((*hub)->registry(), config.sync.admin_token_file)) return 1;

  // The edge listener: the hub's own CA signs the server certificate and every node's; a node
  // without a certificate may only enrol (Hub::check_connect), and nodes keep to their topics.
  EdgeConfig cfg = config;
  const std::string acl_file = cfg.data_dir + "/pki/nodes.acl";
  {
    std::ofstream acl(acl_file, std::ios::trunc);
    acl << sync::Hub::broker_acl();
    if (!acl) {
      log_error("cannot write the broker ACL", {{"file", acl_file}});
      return 1;
    }
  }
  if (!cfg.acl_file.empty()) {
    log_warn("acl-file is replaced by the hub's own node ACL", {{"ignored", cfg.acl_file}});
  }
  cfg.acl_file = acl_file;
  cfg.tls.cert_file = (*hub)->ca().server_cert_file;
  cfg.tls.key_file = (*hub)->ca().server_key_file;
  cfg.tls.ca_file = (*hub)->ca().ca_cert_file;
  cfg.tls.require_client_cert = false;  // enrolment comes without one
  cfg.tls.identity_from_cert = true;

  net::LoopGroup loops(cfg.threads);
  metrics::Registry registry;
  metrics::add_process_metrics(registry);

  sync::Hub* hub_ptr = hub->get();
  mqtt::BrokerHooks hooks;
  hooks.on_connect = [hub_ptr](const mqtt::ConnectCheck& c) { return hub_ptr->check_connect(c); };
  auto broker = mqtt::Broker::create(cfg, loops, std::move(hooks));
  if (!broker) {
    log_error("cannot start broker", {{"error", broker.error().message}});
    return 1;
  }
  (*broker)->register_metrics(registry);
  (*hub)->attach(**broker, registry);

  std::unique_ptr<net::HttpServer> http;
  if (!start_http_listener(loops, cfg.http_listen, hub_http_routes(registry, **hub), http)) {
    return 1;
  }

  loops.start();
  log_info("verge cloud started", {{"threads", loops.size()},
                                   {"data_dir", cfg.data_dir},
                                   {"ca_sha256", (*hub)->ca().ca_sha256}});
  log_info("shutting down", {{"signal", stop.wait()}});
  (*hub)->stop();  // no more local subscriptions; ingest flushed
  (*broker)->shutdown();
  loops.stop();
  http.reset();
  broker->reset();
  hub->reset();
  log_info("stopped");
  return 0;
}

}  // namespace verge::cmd
