#include "sim/edges_sim.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "net/loop_group.h"
#include "sim/edges_api.h"
#include "sim/edges_node.h"
#include "sim/edges_pacer.h"
#include "sync/topics.h"

namespace verge::sim {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kTickMs = 50;
constexpr int64_t kPollMs = 100;
// The desired change goes out this long after live production starts (data flowing meanwhile),
// and the run waits at most this long after it for every node to receive it.
constexpr int64_t kDesiredDelayMs = 1000;
constexpr int64_t kDesiredWaitMs = 30000;
constexpr int64_t kFinishGraceMs = 300;  // lets the DISCONNECTs leave before the clients go

double since_s(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// 10,000 nodes need 10,000 sockets (and the HTTP and enrolment ones besides).
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) log_warn("sim: cannot raise the open files limit");
}

// What lives on one loop. Shared with the loop's tick (EventLoop::every cannot be removed, so
// the tick holds it until the loops are gone).
struct LoopState {
  std::unique_ptr<HubApi> api;
  std::unique_ptr<Pacer> pacer;
  std::vector<std::unique_ptr<EdgeNode>> nodes;
  bool ticking = true;
};

// Runs `fn` on `loop` and waits for it.
template <class Fn>
void run_on(net::EventLoop& loop, Fn fn) {
  std::promise<void> done;
  loop.post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

ProgressSample sample(const EdgeCounters& c, double t_s, uint64_t backlog_total) {
  ProgressSample s;
  s.t_s = t_s;
  s.nodes_connected = c.connected.load(std::memory_order_relaxed);
  s.records_produced = c.produced.load(std::memory_order_relaxed);
  s.records_acked = c.acked.load(std::memory_order_relaxed);
  const uint64_t drained = c.backlog_acked.load(std::memory_order_relaxed);
  s.backlog_left = backlog_total > drained ? backlog_total - drained : 0;
  s.bytes_sent = c.bytes_sent.load(std::memory_order_relaxed);
  return s;
}

class Simulation {
 public:
  Simulation(const EdgesOptions& o, std::string host, uint16_t port, std::FILE* progress)
      : o_(o), host_(std::move(host)), port_(port), progress_(progress), loops_(o.threads) {}

  Result<EdgesReport> run(const std::function<bool()>& stop_requested) {
    t0_ = Clock::now();
    loops_.start();
    if (auto r = setup(); !r) {
      teardown();
      return unexpected(r.error());
    }
    report_.nodes = o_.count;
    report_.backlog_total = static_cast<uint64_t>(o_.count) * o_.backlog;

    // Phase 1: credentials and connections.
    while (!stop_requested() && since_s(t0_) * 1000 < static_cast<double>(o_.connect_timeout_ms)) {
      const uint64_t settled = counters_.ever_connected.load() + counters_.enrol_failed.load();
      if (settled >= o_.count) break;
      poll();
    }
    report_.enrol_seconds = since_s(t0_);
    if (progress_) {
      std::fprintf(progress_, "connect phase: %llu of %u nodes connected in %.1f s\n",
                   static_cast<unsigned long long>(counters_.connected.load()), o_.count,
                   report_.enrol_seconds);
    }

    // Phase 2: production for duration_ms, the desired change meanwhile.
    const int64_t start_ms = wall_ms();
    const Clock::time_point go = Clock::now();
    for_each_loop([start_ms](LoopState& s) {
      for (auto& n : s.nodes) n->go(start_ms);
    });
    bool desired_sent = false;
    Clock::time_point put_at{};
    for (;;) {
      if (stop_requested()) break;
      const double run_ms = since_s(go) * 1000;
      if (o_.desired_change && !desired_sent && run_ms >= kDesiredDelayMs) {
        send_desired();
        desired_sent = true;
        put_at = Clock::now();
      }
      if (!report_.drain_seconds && o_.backlog > 0 &&
          counters_.backlog_acked.load() >= report_.backlog_total) {
        report_.drain_seconds = since_s(go);
      }
      const bool desired_pending = o_.desired_change && (!desired_sent || !desired_complete());
      const bool desired_overdue = desired_sent && since_s(put_at) * 1000 >= kDesiredWaitMs;
      if (run_ms >= static_cast<double>(o_.duration_ms) && (!desired_pending || desired_overdue)) {
        break;
      }
      poll();
    }
    report_.run_seconds = since_s(go);
    const ProgressSample end = sample(counters_, since_s(t0_), report_.backlog_total);
    report_.nodes_connected = end.nodes_connected;
    report_.records_produced = end.records_produced;
    report_.records_acked = end.records_acked;
    report_.backlog_left = end.backlog_left;
    report_.enrolled = counters_.enrolled.load();
    report_.enrol_failed = counters_.enrol_failed.load();
    report_.batches_sent = counters_.batches_sent.load();
    report_.bytes_sent = counters_.bytes_sent.load();
    report_.resends = counters_.resends.load();
    report_.acks = counters_.acks.load();
    report_.reconnects = counters_.reconnects.load();
    report_.rebases = counters_.rebases.load();
    if (o_.desired_change) collect_desired();
    teardown();
    return report_;
  }

 private:
  Result<void> setup() {
    const size_t n = loops_.size();
    const size_t enrol_per_loop = std::max<size_t>(1, o_.enrol_parallel / n);
    const size_t http_per_loop = std::max<size_t>(1, o_.http_parallel / n);
    for (size_t i = 0; i < n; ++i) {
      auto state = std::make_shared<LoopState>();
      states_.push_back(state);
      net::EventLoop& loop = loops_.loop(i);
      Result<void> made;
      run_on(loop, [&] {
        auto api = HubApi::create(loop, o_.api, o_.api_token, http_per_loop);
        if (!api) {
          made = unexpected(api.error());
          return;
        }
        state->api = std::move(*api);
        state->pacer = std::make_unique<Pacer>(enrol_per_loop);
        loop.every(kTickMs, [state, &loop] {
          if (!state->ticking) return;
          const uint64_t now = loop.now_ms();
          for (auto& node : state->nodes) node->tick(now);
        });
      });
      if (!made) return made;
    }
    // Nodes are made on their loops (their timers and clients belong there); node i on loop
    // i mod n, so consecutive ids spread over the loops.
    nodes_.resize(o_.count);
    for (size_t i = 0; i < n; ++i) {
      net::EventLoop& loop = loops_.loop(i);
      LoopState& state = *states_[i];
      run_on(loop, [&] {
        for (size_t j = i; j < o_.count; j += n) {
          EdgeNodeConfig c;
          c.id = o_.prefix + "-" + std::to_string(j);
          c.prefix = o_.prefix;
          c.host = host_;
          c.port = port_;
          c.hub = o_.hub;
          c.state_dir = o_.state_dir + "/" + c.id;
          c.batch = o_.batch;
          c.window = o_.window;
          c.linger_ms = o_.linger_ms;
          c.ack_timeout_ms = o_.ack_timeout_ms;
          c.timeline.backlog = o_.backlog;
          c.timeline.rate = o_.rate;
          c.timeline.devices = o_.devices;
          state.nodes.push_back(std::make_unique<EdgeNode>(loop, std::move(c), counters_));
          nodes_[j] = state.nodes.back().get();
        }
        for (auto& node : state.nodes) node->begin(*state.api, *state.pacer);
      });
    }
    return {};
  }

  template <class Fn>
  void for_each_loop(Fn fn) {
    for (size_t i = 0; i < loops_.size(); ++i) {
      LoopState& s = *states_[i];
      run_on(loops_.loop(i), [&] { fn(s); });
    }
  }

  // Waits one poll interval; prints progress once a second.
  void poll() {
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    const double t = since_s(t0_);
    if (progress_ && t - last_progress_.t_s >= 1.0) {
      const ProgressSample now = sample(counters_, t, report_.backlog_total);
      std::fprintf(progress_, "%s\n", progress_line(last_progress_, now, o_.count).c_str());
      std::fflush(progress_);
      last_progress_ = now;
    }
  }

  // PUT a new document for selector sim=<prefix>; every simulated node gets a new version.
  void send_desired() {
    baseline_.resize(nodes_.size());
    expected_.resize(nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i) {
      baseline_[i] = nodes_[i]->desired_version();
      expected_[i] = nodes_[i]->has_connected();
    }
    put_ms_ = wall_ms();
    report_.desired.requested = true;
    LoopState& s = *states_[0];
    auto result = put_result_;
    loops_.loop(0).post([&s, result, body = desired_change_body(put_ms_),
                         sel = "sim=" + o_.prefix] {
      s.api->put_selector_desired(sel, body, [result](int status, std::string answer) {
        std::lock_guard<std::mutex> lock(result->mu);
        result->done = true;
        if (status != 200) {
          result->error = status == 0 ? answer : "HTTP " + std::to_string(status) + ": " + answer;
        }
      });
    });
  }

  bool desired_complete() {
    {
      std::lock_guard<std::mutex> lock(put_result_->mu);
      if (put_result_->done && !put_result_->error.empty()) return true;  // nothing will come
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (expected_[i] && nodes_[i]->desired_version() <= baseline_[i]) return false;
    }
    return true;
  }

  void collect_desired() {
    DesiredReport& d = report_.desired;
    {
      std::lock_guard<std::mutex> lock(put_result_->mu);
      d.error = !put_result_->done ? "no answer to the PUT" : put_result_->error;
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!expected_[i]) continue;
      ++d.nodes;
      if (nodes_[i]->desired_version() <= baseline_[i]) continue;
      ++d.delivered;
      d.latencies.push_back(
          static_cast<double>(std::max<int64_t>(0, nodes_[i]->desired_received_ms() - put_ms_)) /
          1000.0);
    }
  }

  void teardown() {
    for (size_t i = 0; i < states_.size(); ++i) {
      LoopState& s = *states_[i];
      run_on(loops_.loop(i), [&] {
        s.ticking = false;
        for (auto& n : s.nodes) n->finish();
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kFinishGraceMs));
    for (size_t i = 0; i < states_.size(); ++i) {
      LoopState& s = *states_[i];
      run_on(loops_.loop(i), [&] {
        s.nodes.clear();
        s.api.reset();
        s.pacer.reset();
      });
    }
    nodes_.clear();
    loops_.stop();
  }

  struct PutResult {
    std::mutex mu;
    bool done = false;
    std::string error;
  };

  const EdgesOptions& o_;
  std::string host_;
  uint16_t port_;
  std::FILE* progress_;
  net::LoopGroup loops_;
  std::vector<std::shared_ptr<LoopState>> states_;
  std::vector<EdgeNode*> nodes_;  // by index; owned by their loop's state
  EdgeCounters counters_;
  EdgesReport report_;
  Clock::time_point t0_;
  ProgressSample last_progress_;
  std::vector<int64_t> baseline_;
  std::vector<bool> expected_;
  int64_t put_ms_ = 0;
  std::shared_ptr<PutResult> put_result_ = std::make_shared<PutResult>();
};

}  // namespace

Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text) {
  const Error bad{"expected HOST:PORT, got '" + std::string(text) + "'"};
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return unexpected(bad);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return unexpected(bad);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return unexpected(bad);
  uint32_t p = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return unexpected(bad);
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535) return unexpected(bad);
  return std::pair<std::string, uint16_t>{std::string(host), static_cast<uint16_t>(p)};
}

Result<void> check_edges_options(const EdgesOptions& o) {
  auto fail = [](const std::string& what) { return unexpected(Error{what}); };
  if (auto hp = parse_host_port(o.hub); !hp) return fail("--hub: " + hp.error().message);
  if (o.api.empty()) return fail("--api: required (http://HOST:PORT of the hub's REST API)");
  if (o.count < 1 || o.count > 100000) return fail("--count: expected 1..100000");
  if (o.devices < 1 || o.devices > 100000) return fail("--devices: expected 1..100000");
  if (!(o.rate >= 0) || o.rate > 1e6) return fail("--rate: expected 0..1000000 records/s per node");
  // The prefix becomes part of node ids ([A-Za-z0-9_-]{1,64}) with "-<index>" appended.
  if (o.prefix.size() > 50 || !sync::topics::valid_name(o.prefix)) {
    return fail("--prefix: expected [A-Za-z0-9_-]{1,50}");
  }
  if (o.threads < 1 || o.threads > 256) return fail("--threads: expected 1..256");
  if (o.batch < 1 || o.batch > 100000) return fail("--batch: expected 1..100000");
  if (o.window < 1 || o.window > 64) return fail("--window: expected 1..64");
  if (o.duration_ms < 1) return fail("--duration: expected more than 0");
  if (o.ack_timeout_ms < 100) return fail("--ack-timeout: expected at least 100ms");
  if (o.state_dir.empty()) return fail("--state-dir: required");
  return {};
}

Result<EdgesReport> run_edges(const EdgesOptions& o, const std::function<bool()>& stop_requested,
                              std::FILE* progress) {
  if (auto ok = check_edges_options(o); !ok) return unexpected(ok.error());
  auto hp = parse_host_port(o.hub);
  raise_fd_limit();
  Simulation sim(o, hp->first, hp->second, progress);
  return sim.run(stop_requested);
}

}  // namespace verge::sim
