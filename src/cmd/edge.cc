#include "cmd/edge.h"

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "core/log.h"
#include "core/metrics.h"
#include "mqtt/broker.h"
#include "net/http_server.h"
#include "net/loop_group.h"
#include "store/metadata.h"

namespace verge::cmd {

namespace {

net::HttpHandler node_http_routes(metrics::Registry& registry) {
  return [&registry](const net::HttpRequest& req) {
    const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    if (path == "/metrics") {
      return net::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
    }
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

  auto broker = mqtt::Broker::create(cfg, loops);
  if (!broker) {
    log_error("cannot start broker", {{"error", broker.error().message}});
    return 1;
  }
  (*broker)->register_metrics(registry);

  std::unique_ptr<net::HttpServer> http;
  if (cfg.http_listen) {
    auto server = net::HttpServer::start(loops, *cfg.http_listen, node_http_routes(registry));
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
