#include "devices/adapters/modbus/rtu_link.h"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "devices/adapters/modbus/rtu_line.h"

namespace verge::devices::modbus {

namespace {

// One serial line on a thread and loop of its own.
class LineThread {
 public:
  LineThread(const SerialSettings& serial, LineOptions options) : serial_(serial), loop_(0) {
    loop_.post([this, options = std::move(options)] {
      line_ = std::make_unique<RtuLine>(loop_, serial_, options);
    });
    thread_ = std::thread([this] { loop_.run(); });  // may throw: the caller catches
  }
  ~LineThread() {
    // Runs after everything the devices posted before they let go of the line.
    loop_.post([this] {
      line_.reset();
      loop_.stop();
    });
    thread_.join();
  }
  LineThread(const LineThread&) = delete;
  LineThread& operator=(const LineThread&) = delete;

  net::EventLoop& loop() { return loop_; }
  RtuLine& line() { return *line_; }  // line thread only
  const SerialSettings& serial() const { return serial_; }

 private:
  SerialSettings serial_;
  net::EventLoop loop_;
  std::unique_ptr<RtuLine> line_;
  std::thread thread_;
};

// The line's user standing in for a device on another loop: it posts what the line says to
// the device's loop, until the device lets go.
class Bridge final : public LinkUser, public std::enable_shared_from_this<Bridge> {
 public:
  explicit Bridge(net::EventLoop& user_loop) : user_loop_(&user_loop) {}
  virtual ~Bridge() = default;

  // Device loop.
  void set_user(LinkUser* user) { user_ = user; }
  void cut() {
    std::lock_guard lock(mu_);
    user_loop_ = nullptr;
    user_ = nullptr;
  }

  // Line loop.
  void on_link_state(bool up, std::string_view reason) override {
    post([self = shared_from_this(), up, why = std::string(reason)] {
      if (self->user_ != nullptr) self->user_->on_link_state(up, why);
    });
  }
  void on_exchange(const ExchangeResult& r) override {
    std::optional<Response> response;
    if (r.response != nullptr) response = *r.response;
    post([self = shared_from_this(), status = r.status, response = std::move(response),
          why = std::string(r.reason)] {
      if (self->user_ == nullptr) return;
      ExchangeResult out;
      out.status = status;
      out.response = response ? &*response : nullptr;
      out.reason = why;
      self->user_->on_exchange(out);
    });
  }

 private:
  template <class Fn>
  void post(Fn&& fn) {
    std::lock_guard lock(mu_);
    if (user_loop_ != nullptr) user_loop_->post(std::forward<Fn>(fn));
  }

  std::mutex mu_;
  net::EventLoop* user_loop_;  // guarded by mu_; null once the device let go
  LinkUser* user_ = nullptr;   // device loop only
};

class SharedLineLink final : public Link {
 public:
  SharedLineLink(net::EventLoop& loop, std::shared_ptr<LineThread> line)
      : line_(std::move(line)), bridge_(std::make_shared<Bridge>(loop)) {}
  ~SharedLineLink() override { detach(); }

  void attach(LinkUser* user) override {
    bridge_->set_user(user);
    attached_ = true;
    line_->loop().post([t = line_.get(), b = bridge_] { t->line().attach(b.get()); });
  }
  void detach() override {
    if (!attached_) return;
    attached_ = false;
    bridge_->cut();
    line_->loop().post([t = line_.get(), b = bridge_] { t->line().detach(b.get()); });
  }
  void send(uint8_t unit, const Request& req, bool urgent) override {
    line_->loop().post([t = line_.get(), b = bridge_, unit, req, urgent] {
      t->line().send(b.get(), unit, req, urgent);
    });
  }

 private:
  std::shared_ptr<LineThread> line_;
  std::shared_ptr<Bridge> bridge_;
  bool attached_ = false;
};

// A link that never comes up (the line cannot be shared or started), saying why.
class DownLink final : public Link {
 public:
  DownLink(net::EventLoop& loop, std::string reason) : loop_(loop), reason_(std::move(reason)) {}
  void attach(LinkUser* user) override {
    user_ = user;
    later([](LinkUser* u, const std::string& why) { u->on_link_state(false, why); });
  }
  void detach() override {
    *alive_ = false;
    user_ = nullptr;
  }
  void send(uint8_t, const Request&, bool) override {
    later([](LinkUser* u, const std::string& why) {
      ExchangeResult r;
      r.status = ExchangeStatus::Offline;
      r.reason = why;
      u->on_exchange(r);
    });
  }

 private:
  template <class Fn>
  void later(Fn fn) {
    std::weak_ptr<bool> alive = alive_;
    loop_.next_iteration([this, alive, fn] {
      if (!alive.expired() && *alive.lock() && user_ != nullptr) fn(user_, reason_);
    });
  }

  net::EventLoop& loop_;
  std::string reason_;
  LinkUser* user_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

std::mutex g_lines_mu;
std::map<std::string, std::weak_ptr<LineThread>>& lines() {
  static auto* m = new std::map<std::string, std::weak_ptr<LineThread>>();  // never destroyed
  return *m;
}

}  // namespace

std::unique_ptr<Link> make_rtu_link(net::EventLoop& loop, const RtuSettings& settings) {
  std::lock_guard lock(g_lines_mu);
  auto& map = lines();
  std::shared_ptr<LineThread> line = map[settings.serial.path].lock();
  if (line && !(line->serial() == settings.serial)) {
    return std::make_unique<DownLink>(loop, "port: " + settings.serial.path +
                                                " is already open as " + describe(line->serial()) +
                                                ", not " + describe(settings.serial));
  }
  if (!line) {
    LineOptions options;
    options.timeout_ms = settings.common.timeout_ms;
    options.backoff_max_ms = settings.common.backoff_max_ms;
    options.name = settings.serial.path;
    try {
      line = std::make_shared<LineThread>(settings.serial, std::move(options));
    } catch (const std::system_error& e) {
      return std::make_unique<DownLink>(loop,
                                        std::string("cannot start the line's thread: ") + e.what());
    }
    map[settings.serial.path] = line;
  }
  return std::make_unique<SharedLineLink>(loop, std::move(line));
}

}  // namespace verge::devices::modbus
