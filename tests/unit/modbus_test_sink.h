// What the Modbus adapter tests share: a DeviceSink that records what the adapter delivers and
// lets the test thread wait for it, and small builders.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/value.h"
#include "devices/adapter.h"
#include "devices/types.h"

namespace verge::devices::modbus::testing {

using Clock = std::chrono::steady_clock;

// Records what the adapter delivers; the test thread waits on it.
class FakeSink final : public DeviceSink {
 public:
  void on_readings(std::span<const Reading> readings) override {
    {
      std::lock_guard lock(mu_);
      cycles_.emplace_back(readings.begin(), readings.end());
      cv_.notify_all();
    }
    if (on_readings_hook) on_readings_hook();
  }
  std::function<void()> on_readings_hook;  // runs on the adapter's loop, outside the lock
  void on_link(bool online, std::string_view reason) override {
    {
      std::lock_guard lock(mu_);
      links_.emplace_back(online, std::string(reason));
      cv_.notify_all();
    }
    if (on_link_hook) on_link_hook(online);
  }
  std::function<void(bool)> on_link_hook;  // runs on the adapter's loop, outside the lock
  void on_poll(int64_t, uint32_t requests, uint32_t failed) override {
    std::lock_guard lock(mu_);
    ++polls_;
    requests_ += requests;
    failed_ += failed;
    cv_.notify_all();
  }

  // Waits up to 10 s for `pred` (called under the lock, at least every 10 ms).
  bool wait(const std::function<bool()>& pred) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    std::unique_lock lock(mu_);
    while (!pred()) {
      if (Clock::now() > deadline) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(10));
    }
    return true;
  }
  // Runs `fn` under the lock and wakes the waiters.
  void locked(const std::function<void()>& fn) {
    std::lock_guard lock(mu_);
    fn();
    cv_.notify_all();
  }
  std::vector<std::vector<Reading>> cycles() {
    std::lock_guard lock(mu_);
    return cycles_;
  }
  std::vector<std::pair<bool, std::string>> links() {
    std::lock_guard lock(mu_);
    return links_;
  }
  uint32_t polls() {
    std::lock_guard lock(mu_);
    return polls_;
  }
  size_t cycle_count() {
    std::lock_guard lock(mu_);
    return cycles_.size();
  }

  // Under the lock (inside wait()).
  std::vector<std::vector<Reading>> cycles_;
  std::vector<std::pair<bool, std::string>> links_;
  uint32_t polls_ = 0, requests_ = 0, failed_ = 0;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

inline PointSpec point(std::string name, std::string address, DataType type) {
  PointSpec p;
  p.name = std::move(name);
  p.address = std::move(address);
  p.type = type;
  return p;
}

inline Value json(const std::string& text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : Value();
}

}  // namespace verge::devices::modbus::testing
