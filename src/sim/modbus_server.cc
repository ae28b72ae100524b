#include "sim/modbus_server.h"

#include <fmt/format.h>

#include <ctime>
#include <optional>

#include "devices/adapters/modbus/frame.h"
#include "net/stream_connection.h"
#include "net/timer_queue.h"
#include "net/transport.h"

namespace verge::sim {
namespace {

constexpr size_t kMaxQueuedBytes = size_t{1} << 20;

double unix_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

class SimConnection final : public net::StreamConnection {
 public:
  SimConnection(net::EventLoop& loop, std::unique_ptr<net::Transport> t, SimDevice& device,
                ModbusSimServer& server)
      : StreamConnection(loop, std::move(t)), device_(device), server_(server) {
    server_.live_[loop.index()].insert(this);
  }

 protected:
  size_t on_bytes(std::span<const uint8_t> data) override {
    const std::string_view in(reinterpret_cast<const char*>(data.data()), data.size());
    const double now = unix_seconds();  // one clock read for the whole batch
    std::string replies;
    size_t used = 0;
    while (used < in.size()) {
      auto frame = devices::modbus::parse_tcp_frame(in.substr(used));
      if (!frame) {  // not Modbus: nothing sensible to answer
        close();
        return in.size();
      }
      if (!frame->has_value()) break;
      pdu_.clear();
      device_.handle((*frame)->pdu, now, pdu_);
      devices::modbus::frame_tcp((*frame)->transaction, (*frame)->unit, pdu_, replies);
      used += (*frame)->size;
    }
    if (replies.empty()) return used;
    if (server_.latency_ms_ == 0) {
      send(replies);
      // A client that pipelines without reading gets no more answers queued than this.
      if (queued_bytes() > kMaxQueuedBytes) {
        pause_input();
        held_ = true;
      }
    } else {
      // A constant delay keeps the replies in request order (timers fire in deadline order).
      if (!timers_) timers_.emplace(loop());
      timers_->after(server_.latency_ms_, [this, r = std::move(replies)] { send(r); });
    }
    return used;
  }

  void on_drained() override {
    if (!held_) return;
    held_ = false;
    resume_input();
  }

  void on_closed(std::string_view /*reason*/) override {
    server_.live_[loop().index()].erase(this);
    loop().next_iteration([this] { delete this; });  // behind any deferred read
  }

 private:
  SimDevice& device_;
  ModbusSimServer& server_;
  std::string pdu_;                        // reused for every reply
  bool held_ = false;                      // input paused until the queued replies drain
  std::optional<net::TimerQueue> timers_;  // with --latency-ms; dies with the connection
};

Result<std::unique_ptr<ModbusSimServer>> ModbusSimServer::start(net::LoopGroup& loops,
                                                                const ModbusSimOptions& o) {
  if (o.port != 0 && uint32_t{o.port} + o.devices - 1 > 65535) {
    return unexpected(Error{
        fmt::format("ports {}..{} run past 65535", o.port, uint32_t{o.port} + o.devices - 1)});
  }
  std::unique_ptr<ModbusSimServer> server(new ModbusSimServer(o.points, o.latency_ms));
  server->live_.resize(loops.size());
  ModbusSimServer* raw = server.get();
  for (uint32_t i = 0; i < o.devices; ++i) {
    const uint16_t port = o.port == 0 ? 0 : static_cast<uint16_t>(o.port + i);
    auto sock = net::listen_tcp(ListenAddress{o.listen, port});
    if (!sock) {
      return unexpected(
          Error{fmt::format("device {} ({}:{}): {}", i, o.listen, port, sock.error().message)});
    }
    server->devices_.push_back(std::make_unique<SimDevice>(server->layout_, i));
    SimDevice* device = server->devices_.back().get();
    server->acceptors_.push_back(std::make_unique<net::Acceptor>(
        loops, *sock, 0, [raw, device](net::EventLoop& loop, int fd) {
          auto* c = new SimConnection(loop, net::make_tcp_transport(fd), *device, *raw);
          c->start();  // deletes itself when closed
        }));
  }
  return server;
}

ModbusSimServer::~ModbusSimServer() {
  acceptors_.clear();
  for (auto& set : live_) {
    for (SimConnection* c : set) delete c;
  }
}

std::vector<uint16_t> ModbusSimServer::ports() const {
  std::vector<uint16_t> out;
  out.reserve(acceptors_.size());
  for (const auto& a : acceptors_) out.push_back(a->address().port);
  return out;
}

}  // namespace verge::sim
