#include "devices/adapters/modbus/tcp_line.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/log.h"
#include "devices/adapters/modbus/frame.h"
#include "devices/adapters/modbus/modbus_counters.h"
#include "net/http_client.h"

namespace verge::devices::modbus {

namespace {

constexpr int64_t kMinConnectTimeoutMs = 1000;
// Unsolicited bytes tolerated per connection before it is closed (a stray frame or two).
constexpr size_t kMaxUnsolicitedBytes = 1024;

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// A literal address (or "localhost") without a lookup.
bool literal_address(const std::string& host, uint16_t port, net::ResolvedAddress& out) {
  std::memset(&out.addr, 0, sizeof out.addr);
  const std::string h = host == "localhost" ? "127.0.0.1" : host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// A Line of one user on the user's own loop: calls pass straight through.
class OwnLineLink final : public Link {
 public:
  explicit OwnLineLink(std::unique_ptr<Line> line) : line_(std::move(line)) {}
  ~OwnLineLink() override { detach(); }
  void attach(LinkUser* user) override {
    user_ = user;
    line_->attach(user);
  }
  void detach() override {
    if (user_ != nullptr) line_->detach(user_);
    user_ = nullptr;
  }
  void send(uint8_t unit, const Request& req, bool urgent) override {
    line_->send(user_, unit, req, urgent);
  }

 private:
  std::unique_ptr<Line> line_;
  LinkUser* user_ = nullptr;
};

}  // namespace

std::unique_ptr<Link> make_tcp_link(net::EventLoop& loop, const TcpSettings& settings) {
  LineOptions options;
  options.timeout_ms = settings.common.timeout_ms;
  options.backoff_max_ms = settings.common.backoff_max_ms;
  options.name = settings.host + ":" + std::to_string(settings.port);
  return std::make_unique<OwnLineLink>(
      std::make_unique<TcpLine>(loop, settings.host, settings.port, std::move(options)));
}

// A name lookup on a helper thread; the answer is posted back only while the line lives.
struct TcpLine::Resolving {
  std::mutex mu;
  TcpLine* line = nullptr;  // null once the line is gone or the lookup is abandoned
};

TcpLine::TcpLine(net::EventLoop& loop, std::string host, uint16_t port, LineOptions options)
    : Line(loop, std::move(options)), host_(std::move(host)), port_(port), fd_(loop) {}

TcpLine::~TcpLine() { shutdown(); }

void TcpLine::open() {
  net::ResolvedAddress a;
  if (literal_address(host_, port_, a)) return connect_to(&a.addr, a.len);
  auto job = std::make_shared<Resolving>();
  job->line = this;
  resolving_ = job;
  net::EventLoop* loop = &this->loop();
  auto work = [job, loop, host = host_, port = port_] {
    auto address = net::resolve_host(host, port);
    std::lock_guard lock(job->mu);
    if (job->line == nullptr) return;
    loop->post([job, address] {
      TcpLine* line = nullptr;
      {
        std::lock_guard again(job->mu);
        line = job->line;
      }
      // The loop thread is the one that destroys the line: it stays valid during the call.
      if (line == nullptr || line->resolving_ != job) return;
      line->resolving_.reset();
      if (!address) return line->failed(address.error().message);
      line->connect_to(&address->addr, address->len);
    });
  };
  try {
    std::thread(std::move(work)).detach();
  } catch (const std::system_error& e) {
    resolving_.reset();
    failed(std::string("cannot start a resolver thread: ") + e.what());
  }
}

void TcpLine::connect_to(const void* addr, unsigned len) {
  const auto* sa = static_cast<const sockaddr*>(addr);
  const int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(errno_text("socket", errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, sa, len) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return failed(errno_text("connect", err));
  }
  if (!fd_.watch(fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, [this](uint32_t e) { on_events(e); })) {
    return failed(errno_text("epoll", errno));
  }
  connecting_ = true;
  const int64_t ms = std::max(options().timeout_ms, kMinConnectTimeoutMs);
  connect_timer_ = timers().after(static_cast<uint64_t>(ms), [this, ms] {
    connect_timer_ = 0;
    failed("connect: timeout after " + std::to_string(ms) + " ms");
  });
}

void TcpLine::close() {
  if (resolving_) {
    std::lock_guard lock(resolving_->mu);
    resolving_->line = nullptr;
  }
  resolving_.reset();
  fd_.close();
  ++generation_;
  if (connect_timer_ != 0) timers().cancel(connect_timer_);
  connect_timer_ = 0;
  connecting_ = false;
  in_.clear();
  out_.clear();
  unsolicited_ = 0;
}

void TcpLine::on_events(uint32_t events) {
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return failed(errno_text("connect", err));
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    connecting_ = false;
    timers().cancel(connect_timer_);
    connect_timer_ = 0;
    fd_.modify(EPOLLIN | EPOLLRDHUP);
    opened();
    return;
  }
  if ((events & EPOLLOUT) != 0 && !out_.empty()) {
    if (auto r = flush(); !r) return failed(r.error().message);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) read_some();
}

Result<void> TcpLine::flush() {
  size_t sent = 0;
  while (sent < out_.size()) {
    const ssize_t n = ::send(fd_.fd(), out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return unexpected(Error{errno_text("send", errno)});
    }
    sent += static_cast<size_t>(n);
  }
  out_.erase(0, sent);
  fd_.modify(out_.empty() ? EPOLLIN | EPOLLRDHUP : EPOLLIN | EPOLLRDHUP | EPOLLOUT);
  return {};
}

Result<void> TcpLine::transmit(uint8_t unit, std::string_view pdu) {
  if (!fd_.open() || connecting_) return unexpected(Error{"not connected"});
  in_.clear();  // nothing before the request can be its answer
  ++transaction_;
  const bool idle = out_.empty();
  frame_tcp(transaction_, unit, pdu, out_);
  if (!idle) return {};
  return flush();
}

void TcpLine::read_some() {
  net::EventLoop& lp = loop();
  const uint64_t generation = generation_;
  const int fd = fd_.fd();
  for (;;) {
    const ssize_t n = recv(fd, lp.read_buffer(), lp.read_buffer_size(), 0);
    if (n == 0) return failed("connection closed by the device");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return failed(errno_text("recv", errno));
    }
    if (!in_flight()) {
      drop_unsolicited(static_cast<size_t>(n));
      if (generation_ != generation) return;
      continue;
    }
    in_.append(reinterpret_cast<const char*>(lp.read_buffer()), static_cast<size_t>(n));
    while (!in_.empty()) {
      if (!in_flight()) {
        // What follows the answer in the same read is not the answer to anything.
        const size_t extra = in_.size();
        in_.clear();
        drop_unsolicited(extra);
        if (generation_ != generation) return;
        break;
      }
      auto parsed = parse_tcp_frame(in_);
      if (!parsed) return malformed("malformed response: " + parsed.error().message);
      if (!parsed->has_value()) break;
      const TcpFrame& f = **parsed;
      // Some gateways answer with unit 0 or 255 whatever was asked; the transaction id still
      // ties the answer to the request.
      const uint8_t asked = in_flight_unit();
      if (f.transaction != transaction_ || (f.unit != asked && f.unit != 0 && f.unit != 255)) {
        return malformed("mismatched response: transaction " + std::to_string(f.transaction) +
                         " unit " + std::to_string(f.unit) + ", expected " +
                         std::to_string(transaction_) + " unit " + std::to_string(asked));
      }
      frame_pdu_.assign(f.pdu);
      in_.erase(0, f.size);
      answered(frame_pdu_);
      if (generation_ != generation) return;  // the callbacks closed this connection
    }
  }
}

void TcpLine::drop_unsolicited(size_t n) {
  // Never buffered: with nothing asked they cannot be an answer, and keeping them would let a
  // chatty device grow the buffer until the next poll. A device that keeps at it loses the
  // connection (the reopen has back-off).
  modbus_counters().unsolicited_bytes.inc(n);
  unsolicited_ += n;
  const int64_t now = monotonic_us();
  if (now - last_unsolicited_log_us_ >= 60'000'000) {
    last_unsolicited_log_us_ = now;
    log_warn("modbus device sent bytes with no request in flight; dropped",
             {{"line", options().name}, {"bytes", static_cast<int64_t>(n)}});
  }
  if (unsolicited_ > kMaxUnsolicitedBytes) {
    failed("the device sent " + std::to_string(unsolicited_) + " bytes with no request in flight",
           false);
  }
}

}  // namespace verge::devices::modbus
