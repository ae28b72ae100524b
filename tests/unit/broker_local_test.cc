// In-process subscribers of the broker (what the rule engine reads the bus with).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mqtt/broker.h"
#include "net/loop_group.h"

namespace verge::mqtt {
namespace {

struct Received {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> msgs;

  Broker::LocalHandler handler() {
    return [this](std::string_view topic, std::string_view payload) {
      std::lock_guard lock(mu);
      msgs.emplace_back(topic, payload);
      cv.notify_all();
    };
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return msgs.size() >= n; });
  }
};

class BrokerLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    EdgeConfig cfg;
    cfg.mqtt_listen = ListenAddress{"127.0.0.1", 0};
    cfg.http_listen.reset();
    cfg.persistence = false;
    cfg.threads = 2;
    cfg.limits.sys_interval = 0;
    loops_ = std::make_unique<net::LoopGroup>(2);
    auto b = Broker::create(cfg, *loops_);
    ASSERT_TRUE(b) << b.error().message;
    broker_ = std::move(*b);
    loops_->start();
  }
  void TearDown() override {
    if (broker_) broker_->shutdown();
    loops_->stop();
    broker_.reset();
  }
  std::unique_ptr<net::LoopGroup> loops_;
  std::unique_ptr<Broker> broker_;
};

TEST_F(BrokerLocal, MatchingMessagesReachTheHandler) {
  Received got;
  const uint64_t id = broker_->subscribe_local("sensors/+/temp", got.handler(), false);
  ASSERT_NE(id, 0u);
  broker_->publish("sensors/a/temp", "21", 0, false);
  broker_->publish("sensors/a/hum", "50", 0, false);  // does not match
  broker_->publish("sensors/b/temp", "22", 1, false);
  ASSERT_TRUE(got.wait_for(2));
  std::lock_guard lock(got.mu);
  ASSERT_EQ(got.msgs.size(), 2u);
  EXPECT_EQ(got.msgs[0], (std::pair<std::string, std::string>{"sensors/a/temp", "21"}));
  EXPECT_EQ(got.msgs[1], (std::pair<std::string, std::string>{"sensors/b/temp", "22"}));
}

TEST_F(BrokerLocal, RetainedMessagesAreHandedOverOnSubscribe) {
  Received first;
  const uint64_t probe = broker_->subscribe_local("limits/#", first.handler(), false);
  broker_->publish("limits/d1", R"({"max":30})", 1, true);
  ASSERT_TRUE(first.wait_for(1));  // the retained message is stored by now
  Received got;
  const uint64_t id = broker_->subscribe_local("limits/#", got.handler(), true);
  {
    std::lock_guard lock(got.mu);
    ASSERT_EQ(got.msgs.size(), 1u);  // delivered before subscribe_local returned
    EXPECT_EQ(got.msgs[0].second, R"({"max":30})");
  }
  broker_->unsubscribe_local(id);
  broker_->unsubscribe_local(probe);
}

TEST_F(BrokerLocal, UnsubscribedHandlerIsNotCalledAgain) {
  Received got, after;
  const uint64_t id = broker_->subscribe_local("t", got.handler(), false);
  const uint64_t witness = broker_->subscribe_local("t", after.handler(), false);
  broker_->publish("t", "1", 0, false);
  ASSERT_TRUE(got.wait_for(1));
  broker_->unsubscribe_local(id);
  broker_->publish("t", "2", 0, false);
  ASSERT_TRUE(after.wait_for(2));  // the second message was routed after the unsubscribe
  std::lock_guard lock(got.mu);
  EXPECT_EQ(got.msgs.size(), 1u);
  broker_->unsubscribe_local(witness);
}

TEST_F(BrokerLocal, InvalidFiltersAreRefused) {
  Received got;
  EXPECT_EQ(broker_->subscribe_local("a/#/b", got.handler(), false), 0u);
  EXPECT_EQ(broker_->subscribe_local("$share/g/a", got.handler(), false), 0u);
  EXPECT_EQ(broker_->subscribe_local("", got.handler(), false), 0u);
}

}  // namespace
}  // namespace verge::mqtt
