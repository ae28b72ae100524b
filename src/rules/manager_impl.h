// The rule manager's private state, shared by manager.cc (engine thread, lifecycle) and
// manager_status.cc (status and metrics). Everything here is touched on the engine thread only,
// except `pending` (under `mu`), which the bus handlers fill from broker threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "net/event_loop.h"
#include "rules/bus.h"
#include "rules/catalog.h"
#include "rules/manager.h"
#include "rules/manager_store.h"

namespace verge::rules {

struct ManagedRule;

// One bus subscription per distinct topic filter, shared by the rules and tables reading it.
struct Subscription {
  std::string filter;
  uint64_t key = 0;     // ours, captured by the bus handler (bus ids may be reused)
  uint64_t bus_id = 0;  // for Bus::unsubscribe
  std::vector<ManagedRule*> readers;
  std::vector<std::string> tables;  // names of the tables fed from this filter
};

struct ManagedRule {
  RuleSpec spec;
  RuleState state = RuleState::Stopped;
  std::string error;                     // why it failed (state Failed)
  std::vector<std::string> reads;        // stream and tables, known once compiled
  std::unique_ptr<RuleProgram> program;  // only while running: stopping drops the state
  std::vector<std::unique_ptr<Action>> actions;
  RuleCounters base;               // counters of programs replaced or stopped
  Subscription* source = nullptr;  // while running
  // During update() across a filter change: the old program still reading the old
  // subscription, for the messages queued there before the new subscription existed.
  std::unique_ptr<RuleProgram> retiring;
  Subscription* retiring_sub = nullptr;
  uint64_t cut = 0;  // messages with seq >= cut on retiring_sub belong to the new program
  int64_t deadline = INT64_MAX;  // key in Impl::deadlines when not INT64_MAX
  // Latency from arrival to the end of the actions' emit(): the registry's series once
  // register_metrics() ran, else an own one. 15 buckets keep a rule small.
  std::unique_ptr<metrics::Histogram> own_latency;
  metrics::Histogram* latency = nullptr;
  double latency_max_us = 0;
};

struct PendingMessage {
  uint64_t key;
  uint64_t seq;        // enqueue order over all subscriptions
  int64_t arrival_ns;  // steady clock
  std::string topic;
  std::string payload;
};

struct RuleManager::Impl {
  explicit Impl(ManagerOptions o) : options(std::move(o)), loop(0) {}

  ManagerOptions options;
  ActionServices services;
  net::EventLoop loop;
  std::thread thread;
  std::thread::id engine_id;

  Catalog catalog;
  std::set<std::string, std::less<>> config_streams;
  TableStore tables;
  std::map<std::string, std::unique_ptr<ManagedRule>, std::less<>> rules;
  std::map<std::string, std::unique_ptr<Subscription>, std::less<>> subs;
  std::unordered_map<uint64_t, Subscription*> subs_by_key;
  uint64_t next_key = 1;
  std::unique_ptr<ManagerStore> store;

  // Filled by bus handlers (broker threads); drained on the engine thread in batches.
  std::mutex mu;
  std::vector<PendingMessage> pending;  // guarded by mu
  size_t pending_bytes = 0;             // guarded by mu
  uint64_t enqueue_seq = 0;             // guarded by mu
  bool closing = false;                 // guarded by mu
  std::atomic<uint64_t> overflow_dropped{0};
  std::vector<PendingMessage> draining;

  // Processing-time deadlines, earliest first, served by one timerfd.
  std::set<std::pair<int64_t, ManagedRule*>> deadlines;
  int timer_fd = -1;
  int64_t armed_ms = INT64_MAX;
  // The timerfd's handler (CLOCK_REALTIME, absolute: programs count wall-clock milliseconds).
  class TimerHandler final : public net::EventLoop::Handler {
   public:
    explicit TimerHandler(Impl& impl) : impl_(impl) {}
    void on_events(uint32_t events) override;

   private:
    Impl& impl_;
  };
  std::unique_ptr<TimerHandler> timer_handler;

  std::vector<std::function<void()>> on_destroy;  // unhooks metric collectors
  RuleOutput out;                                 // scratch, reused for every call into a program
  uint64_t table_rejects = 0;
  metrics::Registry* registry = nullptr;

  // Engine-thread work.
  template <class F>
  auto run_sync(F&& fn);
  void enqueue(uint64_t key, std::string_view topic, std::string_view payload);
  void drain();
  void on_timer();
  void arm_timer();
  void deliver(ManagedRule& r, int64_t now_ms, int64_t arrival_ns);
  void reschedule(ManagedRule& r);
  Subscription* acquire(const std::string& filter);
  void release(Subscription* s);
  void attach(ManagedRule& r);
  void detach(ManagedRule& r);
  void fold_counters(ManagedRule& r);
  metrics::Histogram* latency_for(ManagedRule& r);

  struct Built {
    std::unique_ptr<RuleProgram> program;
    std::vector<std::unique_ptr<Action>> actions;
    std::vector<std::string> reads;
  };
  Result<Built, RuleError> build(const RuleSpec& spec);
  Result<RuleStatus, RuleError> create_rule(const RuleSpec& spec, bool persist);
  Result<RuleStatus, RuleError> update_rule(const RuleSpec& spec);
  Result<void, RuleError> start_rule(ManagedRule& r);
  Result<void, RuleError> save(const RuleSpec& spec);
  void retry_failed();
  bool stream_in_use(std::string_view name, std::string* readers) const;
  Result<void, RuleError> define(std::string_view sql, bool from_config, bool persist);
  RuleStatus status_of(const ManagedRule& r) const;
  void load_saved();
};

template <class F>
auto RuleManager::Impl::run_sync(F&& fn) {
  using R = std::invoke_result_t<F&>;
  if (std::this_thread::get_id() == engine_id) return fn();
  std::promise<R> done;
  auto result = done.get_future();
  loop.post([&] {
    if constexpr (std::is_void_v<R>) {
      fn();
      done.set_value();
    } else {
      done.set_value(fn());
    }
  });
  return result.get();
}

RuleCounters add_counters(const RuleCounters& a, const RuleCounters& b);
std::vector<double> latency_bounds_seconds();

}  // namespace verge::rules
