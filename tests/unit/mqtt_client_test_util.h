// Test scaffolding for mqtt::Client: an in-process broker on its own loops, a client loop, and a
// recorder of client events that tests wait on (conditions with deadlines, no sleeps).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mqtt/broker.h"
#include "mqtt/client.h"
#include "net/loop_group.h"

namespace verge::test {

// Runs `fn` on `loop`'s thread and waits for it.
inline void run_on(net::EventLoop& loop, std::function<void()> fn) {
  std::promise<void> done;
  loop.post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// What a client saw, filled on the client loop's thread.
struct ClientEvents {
  std::mutex mu;
  std::condition_variable cv;
  int connected = 0;
  std::vector<std::string> disconnects;
  std::vector<std::pair<std::string, std::string>> messages;
  std::vector<mqtt::PublishResult> results;

  mqtt::ClientHandlers handlers() {
    mqtt::ClientHandlers h;
    h.on_connected = [this](const mqtt::ConnackInfo&) { note([&] { ++connected; }); };
    h.on_disconnected = [this](std::string_view r) { note([&] { disconnects.emplace_back(r); }); };
    h.on_message = [this](std::string_view t, std::string_view p, bool) {
      note([&] { messages.emplace_back(t, p); });
    };
    return h;
  }
  mqtt::Client::PublishDone done() {
    return [this](const mqtt::PublishResult& r) { note([&] { results.push_back(r); }); };
  }
  void note(const std::function<void()>& f) {
    std::lock_guard lock(mu);
    f();
    cv.notify_all();
  }
  // Waits until `pred` (called under the lock) holds; false after `ms`.
  bool wait(const std::function<bool()>& pred, int ms = 10000) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), pred);
  }
  bool has_message(const std::string& topic, const std::string& payload) {
    for (const auto& m : messages) {
      if (m.first == topic && m.second == payload) return true;
    }
    return false;
  }
};

// A broker on two loops and one client loop. Configure `cfg` (and `hooks`) before start_broker().
class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/verge-mqtt-client-XXXXXX";
    dir_ = mkdtemp(tmpl);
    cfg.mqtt_listen = ListenAddress{"127.0.0.1", 0};
    cfg.http_listen.reset();
    cfg.persistence = false;
    cfg.threads = 2;
    cfg.limits.sys_interval = 0;
    client_loops_ = std::make_unique<net::LoopGroup>(1);
    client_loops_->start();
  }
  void TearDown() override {
    run_on(loop(), [this] { clients_.clear(); });
    client_loops_->stop();
    if (broker_) broker_->shutdown();
    if (loops_) loops_->stop();
    broker_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start_broker() {
    loops_ = std::make_unique<net::LoopGroup>(2);
    auto b = mqtt::Broker::create(cfg, *loops_, hooks);
    ASSERT_TRUE(b) << b.error().message;
    broker_ = std::move(*b);
    loops_->start();
  }
  uint16_t port(const std::string& kind) const {
    for (const auto& l : broker_->listeners()) {
      if (l.kind == kind) return l.address.port;
    }
    ADD_FAILURE() << "no listener " << kind;
    return 0;
  }
  mqtt::ClientOptions options(const std::string& id, const std::string& kind = "mqtt") {
    mqtt::ClientOptions o;
    o.host = "127.0.0.1";
    o.port = port(kind);
    o.client_id = id;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.connect_timeout_ms = 5000;
    return o;
  }
  // Creates (on the client loop) and starts a client; it lives until TearDown.
  mqtt::Client* add_client(mqtt::ClientOptions o, ClientEvents& ev,
                           const std::vector<std::string>& subs = {}) {
    mqtt::Client* c = nullptr;
    run_on(loop(), [&] {
      clients_.push_back(std::make_unique<mqtt::Client>(loop(), std::move(o), ev.handlers()));
      c = clients_.back().get();
      for (const auto& s : subs) c->subscribe(s, 1);
      c->start();
    });
    return c;
  }
  net::EventLoop& loop() { return client_loops_->loop(0); }
  std::string file(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path;
  }

  EdgeConfig cfg;
  mqtt::BrokerHooks hooks;
  std::string dir_;
  std::unique_ptr<net::LoopGroup> loops_;
  std::unique_ptr<mqtt::Broker> broker_;
  std::unique_ptr<net::LoopGroup> client_loops_;
  std::vector<std::unique_ptr<mqtt::Client>> clients_;  // client loop thread only
};

}  // namespace verge::test
