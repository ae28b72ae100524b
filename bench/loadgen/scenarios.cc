#include "scenarios.h"

#include <unistd.h>

#include <cstdio>
#include <thread>

#include "runner.h"
#include "stats.h"

namespace loadgen {

namespace {

struct Snapshot {
  uint64_t t = 0, received = 0, expected = 0;
  double self_cpu = 0, broker_cpu = 0;
};

Snapshot snap(const Runner& r, const Options& o, uint64_t now) {
  return Snapshot{now, r.received, r.expected, cpu_seconds(0),
                  o.broker_pid > 0 ? cpu_seconds(o.broker_pid) : 0.0};
}

// Runs the loop for warmup + duration; returns the snapshots at both ends of the measured window.
template <class Pump>
std::pair<Snapshot, Snapshot> drive(Runner& r, const Options& o, Pump&& pump) {
  const uint64_t start = now_ns();
  const uint64_t warm_end = start + static_cast<uint64_t>(o.warmup * 1e9);
  const uint64_t end = warm_end + static_cast<uint64_t>(o.duration * 1e9);
  Snapshot a, b;
  bool measuring = false;
  for (;;) {
    const uint64_t now = now_ns();
    if (!measuring && now >= warm_end) {
      a = snap(r, o, now);
      measuring = true;
      r.record_latency = true;
    }
    if (now >= end) {
      b = snap(r, o, now);
      break;
    }
    pump(now, start);
    r.poll(1);
    if (r.subs.size() == r.closed) break;  // every subscriber gone: nothing left to measure
  }
  if (b.t == 0) b = snap(r, o, now_ns());
  if (a.t == 0) a = b;
  r.record_latency = false;
  return {a, b};
}

double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

}  // namespace

int run_throughput(const Options& o) {
  Runner r(o);
  if (!r.setup_pubsub()) return 1;
  auto [a, b] = drive(r, o, [&](uint64_t now, uint64_t) { r.pump_saturate(now); });
  // Let what is in flight arrive, so the loss figure counts only what the broker dropped.
  const uint64_t drain_end = now_ns() + 1'000'000'000ULL;
  while (now_ns() < drain_end && r.received < r.expected && r.subs.size() != r.closed) r.poll(5);
  const double secs = static_cast<double>(b.t - a.t) / 1e9;
  const double recv = static_cast<double>(b.received - a.received);
  const double sent = static_cast<double>(b.expected - a.expected);
  std::printf(
      "RESULT mode=throughput topology=%s qos=%u size=%u pubs=%zu subs=%zu rate=%.0f "
      "offered=%.0f loss_pct=%.2f stalls=%llu closed=%llu bad=%llu loadgen_cpu=%.0f "
      "broker_cpu=%.0f\n",
      topology_name(o.topology), o.qos, o.size, r.pubs.size(), r.subs.size(),
      secs > 0 ? recv / secs : 0, secs > 0 ? sent / secs : 0,
      pct(static_cast<double>(r.expected > r.received ? r.expected - r.received : 0),
          static_cast<double>(r.expected)),
      static_cast<unsigned long long>(r.stalls), static_cast<unsigned long long>(r.closed),
      static_cast<unsigned long long>(r.bad_frames), pct(b.self_cpu - a.self_cpu, secs),
      pct(b.broker_cpu - a.broker_cpu, secs));
  std::fflush(stdout);
  return r.closed > 0 ? 3 : 0;
}

int run_latency(const Options& o) {
  Runner r(o);
  if (!r.setup_pubsub()) return 1;
  auto [a, b] = drive(r, o, [&](uint64_t now, uint64_t start) { r.pump_rate(now, start); });
  // Let the last messages arrive (they are counted, not timed).
  const uint64_t drain_end = now_ns() + 500'000'000ULL;
  while (now_ns() < drain_end && r.received < r.expected) r.poll(5);
  const double secs = static_cast<double>(b.t - a.t) / 1e9;
  const double recv = static_cast<double>(b.received - a.received);
  std::printf(
      "RESULT mode=latency qos=%u size=%u pubs=%zu target_rate=%.0f rate=%.0f samples=%zu "
      "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f missing=%llu closed=%llu "
      "loadgen_cpu=%.0f broker_cpu=%.0f\n",
      o.qos, o.size, r.pubs.size(), o.rate, secs > 0 ? recv / secs : 0, r.latencies.count(),
      r.latencies.percentile_us(50), r.latencies.percentile_us(90), r.latencies.percentile_us(99),
      r.latencies.percentile_us(99.9), r.latencies.percentile_us(100),
      static_cast<unsigned long long>(r.expected - r.received),
      static_cast<unsigned long long>(r.closed), pct(b.self_cpu - a.self_cpu, secs),
      pct(b.broker_cpu - a.broker_cpu, secs));
  std::fflush(stdout);
  return r.closed > 0 ? 3 : 0;
}

int run_idle(const Options& o) {
  const uint64_t limit = raise_nofile_limit();
  if (limit < o.conns + 64) {
    std::fprintf(stderr, "verge_loadgen: RLIMIT_NOFILE %llu is too low for %u connections\n",
                 static_cast<unsigned long long>(limit), o.conns);
    return 1;
  }
  if (o.broker_pid <= 0) {
    std::fprintf(stderr, "verge_loadgen: --mode idle needs --broker-pid\n");
    return 2;
  }
  Runner r(o);
  const uint64_t rss_before = rss_bytes(o.broker_pid);
  r.conns.resize(o.conns);
  const std::string tag = std::to_string(getpid());
  const uint64_t t0 = now_ns();
  const uint64_t deadline = t0 + 120'000'000'000ULL;
  constexpr uint64_t kPending = 64;  // CONNECTs awaiting CONNACK (below a listen backlog of 100)
  uint64_t opened = 0;
  while ((r.connacks + r.refused + r.closed < o.conns) && now_ns() < deadline) {
    while (opened < o.conns && opened - (r.connacks + r.refused + r.closed) < kPending) {
      Conn& c = r.conns[opened];
      c.index = static_cast<uint32_t>(opened);
      c.role = Role::Idle;
      if (!open_conn(c, o, "lg-i-" + tag + "-" + std::to_string(opened), 0, 64, r.epfd)) {
        std::fprintf(stderr, "verge_loadgen: connection %llu failed\n",
                     static_cast<unsigned long long>(opened));
        return 1;
      }
      ++opened;
    }
    r.poll(10);
  }
  const double connect_secs = static_cast<double>(now_ns() - t0) / 1e9;
  // Stay idle (answering nothing: keep alive is 0) and let the broker settle.
  const uint64_t settle_end = now_ns() + static_cast<uint64_t>(o.settle * 1e9);
  while (now_ns() < settle_end) r.poll(100);
  const uint64_t rss_after = rss_bytes(o.broker_pid);
  const uint64_t ok = r.connacks;
  std::printf(
      "RESULT mode=idle conns=%llu refused=%llu closed=%llu connect_s=%.2f rss_before=%llu "
      "rss_after=%llu per_conn_bytes=%.0f\n",
      static_cast<unsigned long long>(ok), static_cast<unsigned long long>(r.refused),
      static_cast<unsigned long long>(r.closed), connect_secs,
      static_cast<unsigned long long>(rss_before), static_cast<unsigned long long>(rss_after),
      ok > 0 ? (static_cast<double>(rss_after) - static_cast<double>(rss_before)) /
                   static_cast<double>(ok)
             : 0.0);
  std::fflush(stdout);
  return ok == o.conns ? 0 : 3;
}

}  // namespace loadgen
