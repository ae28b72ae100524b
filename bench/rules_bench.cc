// verge_rules_bench: the rule engine in-process (docs/benchmarks.md, "Rule engine").
//
//   verge_rules_bench [--events N] [--rules R] [--only NAME]
//
// 1. Program throughput on one core: RuleProgram::on_message over ~100-byte JSON payloads
//    (JSON parse included) for a filter, a filter with projection, a 10 s tumbling average over
//    1,000 keys and a sliding window. Processing time is simulated (100,000 events/s) so windows
//    open and close as they would live.
// 2. Per-event latency (p50/p99/max) of the filter, timed around each on_message.
// 3. The engine as deployed: events handed to the RuleManager through its bus handler from another
//    thread, rows published by a publish action; events/s and the manager's own p99
//    event-to-action latency.
// 4. Memory: RSS growth per loaded simple rule with R rules (default 10,000) loaded at once.
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "rules/action.h"
#include "rules/bus.h"
#include "rules/catalog.h"
#include "rules/manager.h"
#include "rules/parser.h"
#include "rules/program.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace verge;
using namespace verge::rules;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kSimulatedRate = 100'000;  // events per simulated second

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "verge_rules_bench: %s\n", what.c_str());
  std::exit(1);
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ~100-byte sensor readings from 1,000 devices, temperatures 0.0-40.0.
std::vector<std::string> make_payloads(size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    char buf[160];
    const int dev = static_cast<int>(rng() % 1000);
    const double temp = static_cast<double>(rng() % 401) / 10.0;
    const int hum = static_cast<int>(rng() % 100);
    std::snprintf(buf, sizeof buf,
                  R"({"deviceId":"dev-%04d","temp":%.1f,"humidity":%d,"status":"ok","ts":%lld})",
                  dev, temp, hum, static_cast<long long>(kT0 + static_cast<int64_t>(i)));
    out.emplace_back(buf);
  }
  return out;
}

size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct Scenario {
  const char* name;
  const char* sql;
};

const Scenario kScenarios[] = {
    {"filter", "SELECT * FROM s WHERE temp > 30"},
    {"filter+projection",
     "SELECT deviceId, temp * 1.8 + 32 AS temp_f, humidity FROM s WHERE temp > 30"},
    {"tumbling 10 s avg, 1,000 keys",
     "SELECT deviceId, avg(temp) AS avg_temp, max(temp) AS max_temp FROM s "
     "GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)"},
    {"sliding 10 ms count/avg (1,000 events)",
     "SELECT count(*) AS n, avg(temp) AS avg_temp FROM s GROUP BY SLIDINGWINDOW(ms, 10)"},
};

Catalog bench_catalog() {
  Catalog c;
  auto r = c.define(R"(CREATE STREAM s () WITH (DATASOURCE="sensors/#", FORMAT="json"))");
  if (!r) die("define: " + r.error().message);
  return c;
}

void program_throughput(const Scenario& sc, const std::vector<std::string>& payloads,
                        uint64_t events) {
  Catalog catalog = bench_catalog();
  TableStore tables;
  auto prog = RuleProgram::compile(sc.sql, catalog, &tables, RuleLimits{});
  if (!prog) die(std::string(sc.name) + ": " + format_error(prog.error()));
  RuleOutput out;
  uint64_t rows = 0;
  int64_t deadline = (*prog)->next_deadline_ms();
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < events; ++i) {
    const int64_t now = kT0 + static_cast<int64_t>(i * 1000 / kSimulatedRate);
    if (now >= deadline) {
      (*prog)->on_time(now, out);
      deadline = (*prog)->next_deadline_ms();
    }
    (*prog)->on_message("sensors/x", payloads[i % payloads.size()], now, out);
    if (out.rows.size() >= 4096) {
      rows += out.rows.size();
      out.rows.clear();
    }
    deadline = std::min(deadline, (*prog)->next_deadline_ms());
  }
  const double s = secs(Clock::now() - t0);
  rows += out.rows.size();
  const auto& c = (*prog)->counters();
  std::printf(
      "program %-40s %10.0f events/s  (%llu events, %llu rows out, %llu errors, %.1f KiB state)\n",
      sc.name, static_cast<double>(events) / s, static_cast<unsigned long long>(events),
      static_cast<unsigned long long>(rows),
      static_cast<unsigned long long>(c.eval_errors + c.decode_errors),
      static_cast<double>((*prog)->state_bytes()) / 1024.0);
}

// The bus of the manager benchmark: the bench thread calls the subscribed handler directly, as a
// broker thread would; publishes are counted.
class BenchBus final : public Bus {
 public:
  uint64_t subscribe(std::string_view filter, Handler handler) override {
    std::lock_guard lock(mu_);
    handlers_[++next_] = {std::string(filter), std::move(handler)};
    return next_;
  }
  void unsubscribe(uint64_t id) override {
    std::lock_guard lock(mu_);
    handlers_.erase(id);
  }
  void publish(std::string_view, std::string_view, uint8_t, bool) override {
    published.fetch_add(1, std::memory_order_relaxed);
  }
  Handler first_handler() {
    std::lock_guard lock(mu_);
    return handlers_.empty() ? Handler{} : handlers_.begin()->second.second;
  }
  size_t subscriptions() {
    std::lock_guard lock(mu_);
    return handlers_.size();
  }
  std::atomic<uint64_t> published{0};

 private:
  std::mutex mu_;
  uint64_t next_ = 0;
  std::map<uint64_t, std::pair<std::string, Handler>> handlers_;
};

// On the engine thread itself: on_message plus the publish action of every row it emits.
void program_latency(const std::vector<std::string>& payloads, uint64_t events, BenchBus& bus) {
  Catalog catalog = bench_catalog();
  TableStore tables;
  auto prog = RuleProgram::compile(kScenarios[0].sql, catalog, &tables, RuleLimits{});
  if (!prog) die(format_error(prog.error()));
  ActionServices services;
  services.bus = &bus;
  auto action = make_action(
      Value(ValueObject{{"publish", Value(ValueObject{{"topic", Value("alerts/{{deviceId}}")}})}}),
      services);
  if (!action) die("action: " + action.error().message);
  std::vector<double> ns;
  ns.reserve(events);
  RuleOutput out;
  for (uint64_t i = 0; i < events; ++i) {
    const auto t = Clock::now();
    (*prog)->on_message("sensors/x", payloads[i % payloads.size()], kT0, out);
    for (const Value& row : out.rows) (*action)->emit(row, "hot", kT0);
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t).count());
    out.rows.clear();
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) {
    return ns[static_cast<size_t>(p * static_cast<double>(ns.size() - 1))];
  };
  std::printf(
      "program filter + publish action, event to action: p50 %.2f us, p99 %.2f us, max %.2f us\n",
      pct(0.5) / 1000, pct(0.99) / 1000, ns.back() / 1000);
}

Value rule_value(const std::string& id, const std::string& sql, const std::string& topic) {
  ValueObject publish{{"topic", Value(topic)}};
  ValueObject action{{"publish", Value(std::move(publish))}};
  return Value(ValueObject{{"id", Value(id)},
                           {"sql", Value(sql)},
                           {"actions", Value(ValueArray{Value(std::move(action))})}});
}

std::unique_ptr<RuleManager> make_manager(BenchBus& bus) {
  ManagerOptions options;
  options.services.bus = &bus;
  auto m = RuleManager::create(std::move(options));
  if (!m) die("manager: " + m.error().message);
  auto s = (*m)->define_stream(R"(CREATE STREAM s () WITH (DATASOURCE="sensors/#"))");
  if (!s) die("stream: " + s.error().message);
  return std::move(*m);
}

void manager_throughput(const std::vector<std::string>& payloads, uint64_t events) {
  BenchBus bus;
  auto manager = make_manager(bus);
  auto spec = RuleSpec::from_value(rule_value("hot", kScenarios[0].sql, "alerts/{{deviceId}}"));
  if (!spec) die("spec: " + spec.error().message);
  if (auto r = manager->create(*spec); !r) die("create: " + r.error().message);
  Bus::Handler handler = bus.first_handler();
  if (!handler) die("the manager did not subscribe");
  // The manager's queue is bounded (overflow is dropped and counted), so the producer keeps at
  // most 100,000 events ahead of the engine: saturation without loss.
  auto taken = [&] {
    auto s = manager->status("hot");
    if (!s) die("status: " + s.error().message);
    return s->counters.records_in;
  };
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < events; ++i) {
    if (i % 10'000 == 0) {
      while (i - taken() > 100'000) std::this_thread::yield();
    }
    handler("sensors/x", payloads[i % payloads.size()]);
  }
  // Wait until the engine thread has taken every event.
  RuleStatus st;
  for (;;) {
    auto s = manager->status("hot");
    if (!s) die("status: " + s.error().message);
    st = *s;
    if (st.counters.records_in >= events) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double s = secs(Clock::now() - t0);
  std::printf(
      "manager filter+publish action   %10.0f events/s  (%llu in, %llu out, %llu published); "
      "event-to-action p50 %.1f us, p99 %.1f us, max %.1f us\n",
      static_cast<double>(events) / s, static_cast<unsigned long long>(st.counters.records_in),
      static_cast<unsigned long long>(st.counters.records_out),
      static_cast<unsigned long long>(bus.published.load()), st.latency_p50_us, st.latency_p99_us,
      st.latency_max_us);
}

// Latency at steady offered rates below saturation (what a site sees).
void manager_latency(const std::vector<std::string>& payloads, uint64_t events, int64_t rate) {
  BenchBus bus;
  auto manager = make_manager(bus);
  auto spec = RuleSpec::from_value(rule_value("hot", kScenarios[0].sql, "alerts/{{deviceId}}"));
  if (!spec) die("spec: " + spec.error().message);
  if (auto r = manager->create(*spec); !r) die("create: " + r.error().message);
  Bus::Handler handler = bus.first_handler();
  const auto t0 = Clock::now();
  const auto gap = std::chrono::nanoseconds(1'000'000'000 / rate);
  for (uint64_t i = 0; i < events; ++i) {
    // Sleep, as a broker thread idles in epoll between messages (a spinning producer would
    // keep its core and delay the engine thread whenever the scheduler places both there).
    std::this_thread::sleep_until(t0 + gap * static_cast<int64_t>(i));
    handler("sensors/x", payloads[i % payloads.size()]);
  }
  RuleStatus st;
  for (;;) {
    auto s = manager->status("hot");
    if (!s) die("status: " + s.error().message);
    st = *s;
    if (st.counters.records_in >= events) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::printf(
      "manager at %lld events/s: event-to-action p50 %.1f us, p99 %.1f us, max %.1f us "
      "(%llu events)\n",
      static_cast<long long>(rate), st.latency_p50_us, st.latency_p99_us, st.latency_max_us,
      static_cast<unsigned long long>(st.latency_count));
}

void memory_per_rule(unsigned count) {
  BenchBus bus;
  auto manager = make_manager(bus);
  const size_t before = rss_bytes();
  const auto t0 = Clock::now();
  for (unsigned i = 0; i < count; ++i) {
    const std::string id = "r" + std::to_string(i);
    const std::string sql = "SELECT deviceId, temp FROM s WHERE temp > " + std::to_string(i % 100) +
                            " AND deviceId = 'dev-" + std::to_string(i % 1000) + "'";
    auto spec = RuleSpec::from_value(rule_value(id, sql, "alerts/" + id));
    if (!spec) die("spec: " + spec.error().message);
    if (auto r = manager->create(*spec); !r) die("create " + id + ": " + r.error().message);
  }
  const double load_s = secs(Clock::now() - t0);
  const size_t after = rss_bytes();
  std::printf(
      "%u simple rules loaded in %.2f s: RSS +%.1f MiB, %.1f KB per rule (%zu bus subscriptions)\n",
      count, load_s, static_cast<double>(after - before) / (1024.0 * 1024.0),
      static_cast<double>(after - before) / count / 1000.0, bus.subscriptions());
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t events = 5'000'000;
  unsigned rules = 10'000;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) {
      events = std::stoull(argv[++i]);
    } else if (a == "--rules" && i + 1 < argc) {
      rules = static_cast<unsigned>(std::stoul(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: verge_rules_bench [--events N] [--rules R] [--only "
                   "program|latency|manager|memory]\n");
      return 2;
    }
  }
  verge::set_log_level(verge::LogLevel::Warn);
  const auto payloads = make_payloads(4096);
  size_t bytes = 0;
  for (const auto& p : payloads) bytes += p.size();
  std::printf("payloads: %zu distinct, %.0f bytes on average; %u hardware threads\n",
              payloads.size(), static_cast<double>(bytes) / static_cast<double>(payloads.size()),
              std::thread::hardware_concurrency());
  if (only.empty() || only == "program") {
    for (const Scenario& sc : kScenarios) program_throughput(sc, payloads, events);
  }
  if (only.empty() || only == "latency") {
    BenchBus bus;
    program_latency(payloads, std::min<uint64_t>(events, 1'000'000), bus);
  }
  if (only.empty() || only == "manager") {
    manager_throughput(payloads, events);
    for (int64_t rate : {10'000, 50'000, 200'000}) {
      manager_latency(payloads, static_cast<uint64_t>(rate) * 5, rate);
    }
  }
  if (only.empty() || only == "memory") memory_per_rule(rules);
  return 0;
}
