#include "mqtt/client.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.h"
#include "mqtt/codec.h"
#include "net/http_client.h"
#include "net/socket.h"
#include "net/stream_connection.h"
#include "net/timer_queue.h"
#include "net/tls_client.h"

namespace verge::mqtt {

namespace {

// Announced in CONNECT: how many QoS 1 messages the server may have unacknowledged towards us.
// We acknowledge as soon as on_message returns, so this only bounds what the broker queues.
constexpr uint16_t kReceiveMaximum = 1024;

uint64_t jitter(uint64_t lo, uint64_t hi) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  if (hi <= lo) return lo;
  return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
}

// "not authorized (0x87)"
std::string describe(Reason r) {
  std::string name = reason_name(r);
  std::replace(name.begin(), name.end(), '_', ' ');
  char code[16];
  std::snprintf(code, sizeof code, " (0x%02X)", static_cast<unsigned>(r));
  return name + code;
}

}  // namespace

struct Client::Impl {
  enum class State : uint8_t { Idle, Resolving, Connecting, AwaitConnack, Connected, Backoff };
  class Conn;
  class Connector;
  // Lets a resolver thread reach the client (and its loop) only while the client exists.
  struct Link {
    std::mutex mu;
    Impl* impl = nullptr;  // guarded by mu
  };
  struct Queued {
    std::string topic, payload;
    bool retain = false;
    PublishDone done;
  };

  Impl(net::EventLoop& l, ClientOptions o, ClientHandlers hs)
      : loop(l), opt(std::move(o)), h(std::move(hs)), timers(net::shared_timer_queue(l)) {}
  ~Impl();

  // Connection life cycle.
  void start();
  void stop();
  void connect_now();
  void resolved(uint64_t gen, const Result<net::ResolvedAddress>& address);
  void tcp_connect(const sockaddr_storage& addr, socklen_t len);
  void tcp_done(int error);
  void attempt_failed(std::string reason);
  void on_conn_closed(std::string_view reason);
  void connection_down(std::string reason, bool was_connected);
  void fail_conn(std::string reason);
  void drop_connector();
  void drop_link();
  void arm(uint64_t delay_ms);
  void disarm();
  void on_timer();
  void keepalive_tick();
  void schedule_reconnect();

  // Protocol.
  size_t on_bytes(Conn* c, std::span<const uint8_t> data);
  void handle(Packet& p);
  void on_connack(const Connack& a);
  void on_publish(const Publish& p);
  void on_puback(const Ack& a);
  void send_packet(const Packet& p);
  void send_subscribe(const std::string& filter, uint8_t qos);
  void pump();
  uint16_t alloc_id();
  void fail_all(const std::string& error);
  void complete_later(PublishDone done, PublishResult r);
  void run_completions();

  net::EventLoop& loop;
  ClientOptions opt;
  ClientHandlers h;
  ClientStats stats;
  std::shared_ptr<net::TimerQueue> timers;
  net::TimerQueue::Id timer = 0;
  State state = State::Idle;
  bool running = false;  // between start() and stop() (or a loss without reconnect)
  uint32_t attempt = 0;  // failed attempts since the last CONNACK success (back-off exponent)
  uint64_t generation = 0;
  std::shared_ptr<Link> link;  // only while a name is being resolved
  Connector* connector = nullptr;
  Conn* conn = nullptr;      // owned; freed through loop.next_iteration
  std::string close_reason;  // why we closed `conn` ourselves

  // Session.
  std::vector<std::pair<std::string, uint8_t>> subs;
  std::vector<uint16_t> sub_ids;  // SUBSCRIBEs awaiting SUBACK
  uint16_t next_id = 1;
  std::unordered_map<uint16_t, PublishDone> inflight;
  std::vector<Queued> queue;
  size_t queue_head = 0;
  uint16_t window = 1;
  uint32_t server_max_packet = UINT32_MAX;
  uint16_t keep_alive_s = 0;
  uint64_t last_sent = 0, last_received = 0;
  bool ping_outstanding = false;

  std::vector<std::pair<PublishDone, PublishResult>> completions;
  bool completions_scheduled = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

// The MQTT byte stream of one connection attempt.
class Client::Impl::Conn final : public net::StreamConnection {
 public:
  Conn(net::EventLoop& loop, std::unique_ptr<net::Transport> t, Impl* owner)
      : StreamConnection(loop, std::move(t)), owner_(owner) {}
  Impl* owner_;  // null once abandoned

 protected:
  size_t on_bytes(std::span<const uint8_t> data) override {
    return owner_ != nullptr ? owner_->on_bytes(this, data) : data.size();
  }
  void on_closed(std::string_view reason) override {
    if (owner_ != nullptr) owner_->on_conn_closed(reason);
  }
};

// Waits for a non-blocking connect to finish. Separate from the client so that an event already
// fetched for it in the current batch finds a live handler after the client is gone.
class Client::Impl::Connector final : public net::EventLoop::Handler {
 public:
  Connector(Impl* owner, int fd) : owner_(owner), fd_(fd) {}
  virtual ~Connector() {
    if (fd_ >= 0) close(fd_);
  }
  void on_events(uint32_t /*events*/) override {
    if (owner_ == nullptr) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    owner_->tcp_done(err);
  }
  // Unregisters; gives the socket to the caller (keep_fd) or closes it; frees itself later.
  int finish(net::EventLoop& ev, bool keep_fd) {
    ev.remove(fd_);
    owner_ = nullptr;
    int fd = fd_;
    if (!keep_fd) {
      close(fd_);
      fd = -1;
    }
    fd_ = -1;
    ev.next_iteration([this] { delete this; });
    return fd;
  }

 private:
  Impl* owner_;
  int fd_;
};

Client::Impl::~Impl() {
  *alive = false;
  disarm();
  // This may run inside a timer callback of the shared queue: never free the queue from there.
  loop.next_iteration([t = std::move(timers)] {});
  drop_link();
  drop_connector();
  if (conn != nullptr) {
    Conn* c = conn;
    conn = nullptr;
    c->owner_ = nullptr;
    c->close();
    loop.next_iteration([c] { delete c; });
  }
}

void Client::Impl::start() {
  if (running) return;
  running = true;
  attempt = 0;
  connect_now();
}

void Client::Impl::stop() {
  if (!running) return;
  running = false;
  disarm();
  drop_connector();
  drop_link();
  ++generation;
  if (conn != nullptr) {
    if (state == State::Connected) send_packet(Disconnect{});
    Conn* c = conn;
    conn = nullptr;
    c->owner_ = nullptr;
    c->close();
    loop.next_iteration([c] { delete c; });
  }
  const bool was_connected = state == State::Connected;
  state = State::Idle;
  if (was_connected) ++stats.disconnects;
  fail_all("stopped");
}

void Client::Impl::connect_now() {
  ++generation;
  state = State::Resolving;
  arm(opt.connect_timeout_ms);
  net::ResolvedAddress a;
  if (net::literal_address(opt.host, opt.port, a.addr, a.len)) {
    tcp_connect(a.addr, a.len);
    return;
  }
  // getaddrinfo blocks: resolve on a short-lived thread; the answer comes back through the loop.
  link = std::make_shared<Link>();
  link->impl = this;
  net::EventLoop* lp = &loop;
  auto work = [l = link, lp, host = opt.host, port = opt.port, gen = generation] {
    Result<net::ResolvedAddress> address = net::resolve_host(host, port);
    std::lock_guard lock(l->mu);
    if (l->impl == nullptr) return;  // posting only while the client exists: its loop does too
    lp->post([l, gen, address] {
      Impl* impl = nullptr;
      {
        std::lock_guard again(l->mu);
        impl = l->impl;
      }
      if (impl != nullptr) impl->resolved(gen, address);  // the loop thread destroys clients
    });
  };
  try {
    std::thread(std::move(work)).detach();
  } catch (const std::system_error& e) {
    std::weak_ptr<bool> w = alive;
    const uint64_t gen = generation;
    loop.next_iteration([this, w, gen, why = std::string(e.what())] {
      if (!w.expired() && gen == generation)
        attempt_failed("cannot start a resolver thread: " + why);
    });
  }
}

void Client::Impl::resolved(uint64_t gen, const Result<net::ResolvedAddress>& address) {
  if (gen != generation || state != State::Resolving) return;
  drop_link();
  if (!address) return attempt_failed(address.error().message);
  tcp_connect(address->addr, address->len);
}

void Client::Impl::tcp_connect(const sockaddr_storage& addr, socklen_t len) {
  state = State::Connecting;
  auto fd = net::start_connect(addr, len);
  if (!fd) {
    // Never report from inside start(): defer to the loop.
    std::weak_ptr<bool> w = alive;
    const uint64_t gen = generation;
    loop.next_iteration([this, w, gen, why = fd.error().message] {
      if (!w.expired() && gen == generation && state == State::Connecting) attempt_failed(why);
    });
    return;
  }
  connector = new Connector(this, *fd);
  if (!loop.add(*fd, EPOLLOUT, connector)) {
    const std::string why = std::string("epoll: ") + std::strerror(errno);
    drop_connector();
    std::weak_ptr<bool> w = alive;
    const uint64_t gen = generation;
    loop.next_iteration([this, w, gen, why] {
      if (!w.expired() && gen == generation && state == State::Connecting) attempt_failed(why);
    });
  }
}

void Client::Impl::drop_connector() {
  if (connector == nullptr) return;
  connector->finish(loop, false);
  connector = nullptr;
}

void Client::Impl::drop_link() {
  if (!link) return;
  {
    std::lock_guard lock(link->mu);
    link->impl = nullptr;
  }
  link.reset();
}

void Client::Impl::tcp_done(int error) {
  if (error != 0) {
    drop_connector();
    return attempt_failed(std::string("connect: ") + std::strerror(error));
  }
  const int fd = connector->finish(loop, true);
  connector = nullptr;
  std::unique_ptr<net::Transport> t = opt.tls ? opt.tls->connect(fd) : net::make_tcp_transport(fd);
  if (!t) return attempt_failed("tls: cannot create a TLS session");
  state = State::AwaitConnack;
  close_reason.clear();
  Conn* c = new Conn(loop, std::move(t), this);
  conn = c;
  const std::weak_ptr<bool> guard = alive;
  c->start();  // a failure here reports through on_disconnected, which may destroy us
  if (guard.expired() || conn != c || c->closed()) return;
  Connect p;
  p.version = Version::V5;
  p.clean_start = opt.clean_start;
  p.keep_alive = opt.keep_alive_s;
  p.client_id = opt.client_id;
  p.username = opt.username;
  p.password = opt.password;
  if (!opt.will_topic.empty()) {
    Will w;
    w.topic = opt.will_topic;
    w.payload = opt.will_payload;
    w.qos = std::min<uint8_t>(opt.will_qos, 1);
    w.retain = opt.will_retain;
    p.will = std::move(w);
  }
  p.props.receive_maximum = kReceiveMaximum;
  p.props.maximum_packet_size = opt.max_packet_size;
  if (!opt.clean_start) p.props.session_expiry_interval = UINT32_MAX;
  send_packet(p);
}

void Client::Impl::attempt_failed(std::string reason) { connection_down(std::move(reason), false); }

void Client::Impl::fail_conn(std::string reason) {
  if (conn == nullptr) return;
  if (close_reason.empty()) close_reason = std::move(reason);
  conn->close();  // calls on_conn_closed
}

void Client::Impl::on_conn_closed(std::string_view reason) {
  Conn* c = conn;
  if (c == nullptr) return;
  std::string why = !close_reason.empty() ? close_reason : std::string(reason);
  if (close_reason.empty() && opt.tls && why == "closed by peer") {
    // A TLS connection dropped in the handshake: the transport may know more.
    const std::string detail = c->transport().last_error();
    if (!detail.empty()) why = detail;
  }
  close_reason.clear();
  conn = nullptr;
  c->owner_ = nullptr;
  loop.next_iteration([c] { delete c; });
  connection_down(std::move(why), state == State::Connected);
}

void Client::Impl::connection_down(std::string reason, bool was_connected) {
  disarm();
  drop_connector();
  drop_link();
  ++generation;
  if (was_connected) {
    ++stats.disconnects;
  } else {
    ++stats.connect_failures;
  }
  sub_ids.clear();
  ping_outstanding = false;
  fail_all("connection lost");
  if (running && opt.reconnect) {
    state = State::Backoff;
    schedule_reconnect();
  } else {
    running = false;
    state = State::Idle;
  }
  log_debug("mqtt client: disconnected", {{"client", opt.client_id}, {"reason", reason}});
  if (h.on_disconnected) h.on_disconnected(reason);
}

void Client::Impl::schedule_reconnect() {
  const uint64_t lo = std::max<uint64_t>(opt.backoff_min_ms, 1);
  const uint64_t hi = std::max(lo, opt.backoff_max_ms);
  uint64_t d = lo;
  for (uint32_t i = 0; i < attempt && d < hi; ++i) d *= 2;
  d = std::min(d, hi);
  if (attempt < 64) ++attempt;
  arm(jitter(d / 2, d));
}

void Client::Impl::arm(uint64_t delay_ms) {
  disarm();
  timer = timers->after(delay_ms, [this] {
    timer = 0;
    on_timer();
  });
}

void Client::Impl::disarm() {
  if (timer != 0) timers->cancel(timer);
  timer = 0;
}

void Client::Impl::on_timer() {
  switch (state) {
    case State::Resolving:
    case State::Connecting:
      drop_connector();
      return attempt_failed("connect timeout after " + std::to_string(opt.connect_timeout_ms) +
                            " ms");
    case State::AwaitConnack:
      return fail_conn("connect timeout after " + std::to_string(opt.connect_timeout_ms) + " ms");
    case State::Connected:
      return keepalive_tick();
    case State::Backoff:
      return connect_now();
    case State::Idle:
      return;
  }
}

void Client::Impl::keepalive_tick() {
  if (keep_alive_s == 0) return;
  const uint64_t ka = uint64_t{keep_alive_s} * 1000;
  const uint64_t now = loop.now_ms();
  if (now - last_received >= ka * 3 / 2) {
    return fail_conn("keepalive timeout: nothing from the server for " +
                     std::to_string(ka * 3 / 2) + " ms");
  }
  if (!ping_outstanding && (now - last_sent >= ka / 2 || now - last_received >= ka / 2)) {
    send_packet(Pingreq{});
    ping_outstanding = true;
  }
  uint64_t next = std::min(last_sent + ka / 2, last_received + ka * 3 / 2);
  if (!ping_outstanding) next = std::min(next, last_received + ka / 2);
  arm(next > now ? next - now : 1);
}

size_t Client::Impl::on_bytes(Conn* c, std::span<const uint8_t> data) {
  // Handlers may stop the client, or even destroy it: look at `guard` before touching members.
  const std::weak_ptr<bool> guard = alive;
  size_t used = 0;
  while (conn == c && !c->closed()) {
    FrameHeader fh;
    const FrameStatus st = peek_frame(data.subspan(used), fh);
    if (st == FrameStatus::NeedMore) break;
    if (st == FrameStatus::Malformed) {
      fail_conn("protocol error: malformed remaining length");
      return data.size();
    }
    if (fh.total_size() > opt.max_packet_size) {
      fail_conn("packet too large: " + std::to_string(fh.total_size()) + " bytes");
      return data.size();
    }
    if (data.size() - used < fh.total_size()) break;
    const auto frame = data.subspan(used, fh.total_size());
    used += fh.total_size();
    stats.bytes_received += frame.size();
    last_received = loop.now_ms();
    auto p = decode(frame, Version::V5);
    if (!p) {
      fail_conn(std::string("protocol error: ") + p.error().what);
      return data.size();
    }
    handle(*p);
    if (guard.expired()) return data.size();
  }
  return conn == c ? used : data.size();
}

void Client::Impl::handle(Packet& p) {
  if (auto* a = std::get_if<Connack>(&p)) {
    if (state != State::AwaitConnack) return fail_conn("protocol error: unexpected CONNACK");
    return on_connack(*a);
  }
  if (state != State::Connected) return fail_conn("protocol error: packet before CONNACK");
  if (auto* pub = std::get_if<Publish>(&p)) return on_publish(*pub);
  if (auto* ack = std::get_if<Ack>(&p)) {
    if (ack->type == PacketType::Puback) return on_puback(*ack);
    return fail_conn("protocol error: QoS 2 acknowledgement");
  }
  if (std::holds_alternative<Pingresp>(p)) {
    ping_outstanding = false;
    return;
  }
  if (auto* s = std::get_if<Suback>(&p)) {
    std::erase(sub_ids, s->packet_id);
    for (Reason r : s->reasons) {
      if (static_cast<uint8_t>(r) >= 0x80) {
        log_warn("mqtt client: subscription refused",
                 {{"client", opt.client_id}, {"reason", describe(r)}});
      }
    }
    return;
  }
  if (std::holds_alternative<Unsuback>(p)) return;
  if (auto* d = std::get_if<Disconnect>(&p)) {
    std::string why = "disconnected by server: " + describe(d->reason);
    if (d->props.reason_string) why += ": " + *d->props.reason_string;
    return fail_conn(std::move(why));
  }
  fail_conn("protocol error: unexpected packet from the server");
}

void Client::Impl::on_connack(const Connack& a) {
  if (a.reason != Reason::Success) {
    std::string why = "connect refused: " + describe(a.reason);
    if (a.props.reason_string) why += ": " + *a.props.reason_string;
    return fail_conn(std::move(why));
  }
  disarm();
  state = State::Connected;
  attempt = 0;
  ++stats.connects;
  window = std::max<uint16_t>(1, std::min<uint16_t>(std::max<uint16_t>(opt.max_inflight, 1),
                                                    a.props.receive_maximum.value_or(65535)));
  server_max_packet = a.props.maximum_packet_size.value_or(UINT32_MAX);
  keep_alive_s = a.props.server_keep_alive.value_or(opt.keep_alive_s);
  ping_outstanding = false;
  last_received = last_sent = loop.now_ms();
  if (keep_alive_s != 0) arm(uint64_t{keep_alive_s} * 500);
  Conn* c = conn;
  for (const auto& [filter, qos] : subs) send_subscribe(filter, qos);
  pump();
  if (conn != c) return;
  ConnackInfo info{static_cast<uint8_t>(a.reason), a.session_present};
  log_debug("mqtt client: connected", {{"client", opt.client_id}});
  if (h.on_connected) h.on_connected(info);
}

void Client::Impl::on_publish(const Publish& p) {
  ++stats.messages_received;
  Conn* c = conn;
  const std::weak_ptr<bool> guard = alive;
  if (h.on_message) h.on_message(p.topic, p.payload, p.retain);
  if (guard.expired()) return;
  if (p.qos >= 1 && conn == c && c != nullptr && !c->closed()) {
    Ack ack;
    ack.type = p.qos == 1 ? PacketType::Puback : PacketType::Pubrec;
    ack.packet_id = p.packet_id;
    send_packet(ack);
  }
}

void Client::Impl::on_puback(const Ack& a) {
  auto it = inflight.find(a.packet_id);
  if (it == inflight.end()) return;  // unknown id: ignore (a duplicate)
  PublishDone done = std::move(it->second);
  inflight.erase(it);
  const uint8_t reason = static_cast<uint8_t>(a.reason);
  if (reason >= 0x80) ++stats.publish_failed;
  pump();
  if (done) {
    PublishResult r;
    r.reason = reason;
    done(r);
  }
}

void Client::Impl::send_packet(const Packet& p) {
  thread_local std::string buf;
  buf.clear();
  encode(p, Version::V5, buf);
  stats.bytes_sent += buf.size();
  last_sent = loop.now_ms();
  conn->send(buf);
}

void Client::Impl::send_subscribe(const std::string& filter, uint8_t qos) {
  Subscribe s;
  s.packet_id = alloc_id();
  TopicFilter tf;
  tf.filter = filter;
  tf.qos = qos;
  s.topics.push_back(std::move(tf));
  sub_ids.push_back(s.packet_id);
  send_packet(s);
}

uint16_t Client::Impl::alloc_id() {
  for (;;) {
    const uint16_t id = next_id;
    next_id = next_id == 65535 ? 1 : next_id + 1;
    if (!inflight.contains(id) && std::find(sub_ids.begin(), sub_ids.end(), id) == sub_ids.end()) {
      return id;
    }
  }
}

void Client::Impl::pump() {
  while (state == State::Connected && conn != nullptr && inflight.size() < window &&
         queue_head < queue.size()) {
    Queued q = std::move(queue[queue_head++]);
    Publish p;
    p.topic = q.topic;
    p.payload = q.payload;
    p.qos = 1;
    p.retain = q.retain;
    p.packet_id = alloc_id();
    thread_local std::string head;
    head.clear();
    encode_publish_header(p, Version::V5, head);
    if (head.size() + q.payload.size() > server_max_packet) {
      complete_later(std::move(q.done), PublishResult{0, "packet too large for the server"});
      continue;
    }
    inflight.emplace(p.packet_id, std::move(q.done));
    stats.bytes_sent += head.size() + q.payload.size();
    ++stats.messages_sent;
    last_sent = loop.now_ms();
    conn->send(head);
    conn->send(q.payload);
  }
  if (queue_head == queue.size()) {
    queue.clear();
    queue_head = 0;
    if (queue.capacity() > 64) std::vector<Queued>().swap(queue);
  } else if (queue_head > 64 && queue_head * 2 > queue.size()) {
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(queue_head));
    queue_head = 0;
  }
}

void Client::Impl::fail_all(const std::string& error) {
  for (auto& [id, done] : inflight) complete_later(std::move(done), PublishResult{0, error});
  inflight.clear();
  for (size_t i = queue_head; i < queue.size(); ++i) {
    complete_later(std::move(queue[i].done), PublishResult{0, error});
  }
  std::vector<Queued>().swap(queue);
  queue_head = 0;
}

void Client::Impl::complete_later(PublishDone done, PublishResult r) {
  if (!r.ok()) ++stats.publish_failed;
  if (!done) return;
  completions.emplace_back(std::move(done), std::move(r));
  if (completions_scheduled) return;
  completions_scheduled = true;
  std::weak_ptr<bool> w = alive;
  loop.next_iteration([this, w] {
    if (!w.expired()) run_completions();
  });
}

void Client::Impl::run_completions() {
  completions_scheduled = false;
  auto batch = std::move(completions);
  completions.clear();
  const std::weak_ptr<bool> guard = alive;
  for (auto& [done, r] : batch) {
    if (guard.expired()) return;  // destroyed by an earlier callback: the rest are abandoned
    done(r);
  }
}

// ---- Client ----

Client::Client(net::EventLoop& loop, ClientOptions options, ClientHandlers handlers)
    : impl_(std::make_unique<Impl>(loop, std::move(options), std::move(handlers))) {}

Client::~Client() = default;

void Client::start() { impl_->start(); }
void Client::stop() { impl_->stop(); }
bool Client::connected() const { return impl_->state == Impl::State::Connected; }

void Client::subscribe(std::string_view filter, uint8_t qos) {
  qos = std::min<uint8_t>(qos, 1);  // QoS 2 is not supported: ask for at most 1
  Impl& m = *impl_;
  auto it =
      std::find_if(m.subs.begin(), m.subs.end(), [&](const auto& s) { return s.first == filter; });
  if (it != m.subs.end()) {
    it->second = qos;
  } else {
    m.subs.emplace_back(std::string(filter), qos);
  }
  if (m.state == Impl::State::Connected) m.send_subscribe(std::string(filter), qos);
}

void Client::publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                     PublishDone done) {
  Impl& m = *impl_;
  if (qos >= 2) {
    m.complete_later(std::move(done), PublishResult{0, "QoS 2 is not supported"});
    return;
  }
  if (qos == 0) {
    if (m.state != Impl::State::Connected) {
      m.complete_later(std::move(done), PublishResult{0, "not connected"});
      return;
    }
    Publish p;
    p.topic = topic;
    p.payload = payload;
    p.retain = retain;
    thread_local std::string head;
    head.clear();
    encode_publish_header(p, Version::V5, head);
    if (head.size() + payload.size() > m.server_max_packet) {
      m.complete_later(std::move(done), PublishResult{0, "packet too large for the server"});
      return;
    }
    m.stats.bytes_sent += head.size() + payload.size();
    ++m.stats.messages_sent;
    m.last_sent = m.loop.now_ms();
    m.conn->send(head);
    m.conn->send(payload);
    if (done) m.complete_later(std::move(done), PublishResult{});
    return;
  }
  // QoS 1: queued while connected or while a connection attempt is under way (sent after the
  // CONNACK); refused at once when down (idle or waiting to retry).
  if (m.state == Impl::State::Idle || m.state == Impl::State::Backoff) {
    m.complete_later(std::move(done), PublishResult{0, "not connected"});
    return;
  }
  m.queue.push_back(
      Impl::Queued{std::string(topic), std::string(payload), retain, std::move(done)});
  m.pump();
}

size_t Client::pending() const {
  return impl_->inflight.size() + impl_->queue.size() - impl_->queue_head;
}

size_t Client::queued_bytes() const {
  return impl_->conn != nullptr ? impl_->conn->queued_bytes() : 0;
}

const ClientStats& Client::stats() const { return impl_->stats; }

}  // namespace verge::mqtt
