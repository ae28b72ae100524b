// Fakes for the device layer's tests: a bus that records publishes and delivers to its
// subscribers, a "fake" polling protocol whose adapters the test drives (readings, link, write
// answers), and a "push" protocol without adapters (ingest only).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devices/adapter.h"
#include "net/event_loop.h"
#include "rules/bus.h"

namespace verge::devices::testing {

struct Published {
  std::string topic, payload;
  bool retain = false;
};

class FakeBus : public rules::Bus {
 public:
  uint64_t subscribe(std::string_view filter, Handler handler) override {
    std::lock_guard lock(mu);
    subs[next] = {std::string(filter), std::move(handler)};
    return next++;
  }
  void unsubscribe(uint64_t id) override {
    std::lock_guard lock(mu);
    subs.erase(id);
  }
  void publish(std::string_view topic, std::string_view payload, uint8_t, bool retain) override {
    std::lock_guard lock(mu);
    messages.push_back({std::string(topic), std::string(payload), retain});
  }
  // Delivers to every subscriber (the test's topics match the one filter the manager uses).
  void deliver(std::string_view topic, std::string_view payload) {
    std::vector<Handler> handlers;
    {
      std::lock_guard lock(mu);
      for (auto& [id, s] : subs) handlers.push_back(s.second);
    }
    for (auto& h : handlers) h(topic, payload);
  }
  std::vector<Published> on(std::string_view topic) {
    std::lock_guard lock(mu);
    std::vector<Published> out;
    for (const auto& m : messages) {
      if (m.topic == topic) out.push_back(m);
    }
    return out;
  }
  size_t subscriptions() {
    std::lock_guard lock(mu);
    return subs.size();
  }

  std::mutex mu;
  std::vector<Published> messages;
  std::map<uint64_t, std::pair<std::string, Handler>> subs;
  uint64_t next = 1;
};

enum class WriteMode { Ok, Fail, Never };

class FakeAdapter;

// What the test sees of the running fake adapters, by device id.
class FakeControl {
 public:
  void attach(const std::string& id, FakeAdapter* a) {
    std::lock_guard lock(mu);
    adapters[id] = a;
    ++starts;
  }
  void detach(const std::string& id, FakeAdapter* a) {
    std::lock_guard lock(mu);
    if (adapters[id] == a) adapters.erase(id);
  }
  bool running(const std::string& id) {
    std::lock_guard lock(mu);
    return adapters.count(id) > 0;
  }
  // Runs `fn` with the device's adapter on its loop thread and waits for it.
  bool on_loop(const std::string& id, std::function<void(FakeAdapter&)> fn);

  std::mutex mu;
  std::map<std::string, FakeAdapter*> adapters;
  std::vector<std::pair<uint32_t, Value>> writes;  // every write, in order (under mu)
  WriteMode mode = WriteMode::Ok;                  // (under mu)
  std::string fail_with = "exception 2: illegal data address";
  std::atomic<int> starts{0};  // adapters started so far
};

class FakeAdapter final : public Adapter {
 public:
  FakeAdapter(const AdapterContext& ctx, FakeControl& control) : ctx_(ctx), control_(control) {}
  void start() override {
    control_.attach(ctx_.device->id, this);
    const Value* online = ctx_.device->connection.find("online");
    if (online == nullptr || online->is_true()) ctx_.sink->on_link(true, "");
  }
  void stop() override {
    control_.detach(ctx_.device->id, this);
    for (auto& d : held_) d(unexpected(Error{"stopped"}));
    held_.clear();
  }
  void write(uint32_t point, const Value& raw, WriteDone done) override {
    WriteMode mode;
    std::string why;
    {
      std::lock_guard lock(control_.mu);
      control_.writes.emplace_back(point, raw);
      mode = control_.mode;
      why = control_.fail_with;
    }
    if (mode == WriteMode::Ok) {
      done({});
    } else if (mode == WriteMode::Fail) {
      done(unexpected(Error{why}));
    } else {
      held_.push_back(std::move(done));
    }
  }
  DeviceSink& sink() { return *ctx_.sink; }
  net::EventLoop& loop() { return *ctx_.loop; }

 private:
  AdapterContext ctx_;
  FakeControl& control_;
  std::vector<WriteDone> held_;
};

inline bool FakeControl::on_loop(const std::string& id, std::function<void(FakeAdapter&)> fn) {
  FakeAdapter* a = nullptr;
  {
    std::lock_guard lock(mu);
    auto it = adapters.find(id);
    if (it == adapters.end()) return false;
    a = it->second;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  a->loop().post([a, fn = std::move(fn), done] {
    fn(*a);
    done->set_value();
  });
  return f.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
}

class FakeFactory final : public AdapterFactory {
 public:
  FakeFactory(std::string protocol, bool polls, FakeControl* control)
      : protocol_(std::move(protocol)), polls_(polls), control_(control) {}
  std::string_view protocol() const override { return protocol_; }
  bool polls() const override { return polls_; }
  Result<void> check_point(const PointSpec& p) const override {
    if (polls_ && !p.address.starts_with("reg:")) {
      return unexpected(Error{"address: expected reg:<n>, got '" + p.address + "'"});
    }
    return {};
  }
  Result<void> check_connection(const Value& c) const override {
    for (const auto& [k, v] : c.as_object()) {
      if (k == "port") {
        if (!v.is_int() || v.as_int() < 1 || v.as_int() > 65535) {
          return unexpected(Error{"port: expected 1..65535"});
        }
      } else if (k != "online") {
        return unexpected(Error{k + ": unknown key (port, online)"});
      }
    }
    return {};
  }
  std::unique_ptr<Adapter> create(const AdapterContext& ctx) const override {
    if (control_ == nullptr) return nullptr;
    return std::make_unique<FakeAdapter>(ctx, *control_);
  }

 private:
  std::string protocol_;
  bool polls_;
  FakeControl* control_;
};

// Polls `pred` until it holds or 5 s pass.
inline bool eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace verge::devices::testing
