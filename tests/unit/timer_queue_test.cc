#include "net/timer_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "rules_test_util.h"

namespace verge::net {
namespace {

using rules::testing::run_until;

TEST(TimerQueue, FiresOnceInDeadlineOrder) {
  EventLoop loop(0);
  TimerQueue timers(loop);
  std::string order;
  timers.after(30, [&] { order += 'c'; });
  timers.after(10, [&] { order += 'a'; });
  timers.after(10, [&] { order += 'b'; });  // same deadline: scheduling order
  timers.after(0, [&] { order += '0'; });
  EXPECT_EQ(timers.size(), 4u);
  EXPECT_TRUE(run_until(loop, [&] { return order.size() == 4; }));
  EXPECT_EQ(order, "0abc");
  EXPECT_EQ(timers.size(), 0u);
}

TEST(TimerQueue, NeverFiresEarly) {
  EventLoop loop(0);
  TimerQueue timers(loop);
  std::vector<std::chrono::nanoseconds> late;
  const auto start = std::chrono::steady_clock::now();
  for (int ms : {1, 7, 25}) {
    timers.after(static_cast<uint64_t>(ms), [&, ms] {
      late.push_back(std::chrono::steady_clock::now() - start - std::chrono::milliseconds(ms));
    });
  }
  EXPECT_TRUE(run_until(loop, [&] { return late.size() == 3; }));
  for (auto d : late) EXPECT_GE(d.count(), 0);
}

TEST(TimerQueue, CancelAndRescheduleFromCallbacks) {
  EventLoop loop(0);
  TimerQueue timers(loop);
  std::string order;
  const auto late = timers.after(20, [&] { order += 'x'; });
  TimerQueue::Id doomed = 0;
  timers.after(5, [&] {
    order += 'a';
    EXPECT_TRUE(timers.cancel(doomed));      // due later in this same round
    timers.after(1, [&] { order += 'b'; });  // scheduled from a callback
  });
  doomed = timers.after(5, [&] { order += 'y'; });
  EXPECT_TRUE(timers.cancel(late));
  EXPECT_FALSE(timers.cancel(late));
  timers.after(40, [&] { order += 'c'; });
  EXPECT_TRUE(run_until(loop, [&] { return order.size() >= 3; }));
  EXPECT_EQ(order, "abc");
}

TEST(TimerQueue, DestroyedQueueNeverCallsBack) {
  EventLoop loop(0);
  int fired = 0;
  auto timers = std::make_unique<TimerQueue>(loop);
  timers->after(1, [&] { ++fired; });
  timers.reset();
  TimerQueue other(loop);
  bool done = false;
  other.after(20, [&] { done = true; });
  EXPECT_TRUE(run_until(loop, [&] { return done; }));
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace verge::net
