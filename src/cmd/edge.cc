#include "cmd/edge.h"

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "api/series_api.h"
#include "core/log.h"
#include "core/metrics.h"
#include "mqtt/broker.h"
#include "net/http_server.h"
#include "net/loop_group.h"
#include "store/metadata.h"
#include "store/tsdb.h"

namespace verge::cmd {

namespace {

net::HttpHandler node_http_routes(metrics::Registry& registry, const store::Tsdb& tsdb) {
  return [&registry, &tsdb](const net::HttpRequest& req) {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (path == "/metrics") {
      return net::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
    }
    if (api::is_series_path(path)) return api::handle_series_request(tsdb, req);
    if (path == "/healthz") return net::HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
    return net::HttpReply{404, "text/plain; charset=utf-8", "not found\n"};
  };
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
  // Writes to a socket the peer closed must fail with EPIPE, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

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

  std::unique_ptr<net::HttpServer> http;
  if (cfg.http_listen) {
    auto server =
        net::HttpServer::start(loops, *cfg.http_listen, node_http_routes(registry, **tsdb));
    if (!server) {
      log_error("cannot start http listener",
                {{"error", "http-listen: " + server.error().message}});
      return 1;
    }
    http = std::move(*server);
    log_info("listening", {{"listener", "http"}, {"addr", to_string(http->address())}});
  }

  loops.start();
  log_info("verge edge started", {{"threads", loops.size()}, {"data_dir", cfg.data_dir}});

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log_info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*broker)->shutdown();
  loops.stop();
  http.reset();
  broker->reset();
  log_info("stopped");
  return 0;
}

}  // namespace verge::cmd
