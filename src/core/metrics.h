// Metrics registry with Prometheus text exposition (format 0.0.4), served at GET /metrics.
//
//   metrics::Registry reg;
//   auto& c = reg.counter("verge_mqtt_connections_total", "Accepted connections", {{"listener",
//   "mqtt"}}); c.inc();                                   // lock-free, relaxed atomics
//   reg.add_collector([&](metrics::Exposition& e) {   // values computed at scrape time
//     e.gauge("verge_mqtt_sessions", "Sessions", {}, double(sessions()));
//   });
//   std::string body = reg.render();
//
// Registration and render take a mutex; Counter/Gauge/Histogram updates never do. References
// returned by counter()/gauge()/histogram() stay valid for the registry's lifetime, and the same
// name + labels (in any order) returns the same object. Registering a name again with another
// type is a programming error: it is logged and a detached (never rendered) object is returned.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace verge::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) { v_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0.0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds (le) of the buckets; they are sorted and de-duplicated, and a
  // +Inf bucket is always added.
  explicit Histogram(std::vector<double> bounds);

  void observe(double v);

  struct Snapshot {
    std::vector<double> bounds;        // without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries, the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

// What a collector writes into at scrape time. Samples of the same name join one family (HELP
// and TYPE once), also when the name is a registered family of the same type.
class Exposition {
 public:
  void counter(std::string_view name, std::string_view help, const Labels& labels, double value);
  void gauge(std::string_view name, std::string_view help, const Labels& labels, double value);

 private:
  friend class Registry;
  struct Family {
    std::string name, help, type;
    std::string samples;  // rendered sample lines
  };
  Family& family(std::string_view name, std::string_view help, std::string_view type);
  std::vector<Family> families_;
  std::map<std::string, size_t, std::less<>> index_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                       Labels labels = {});

  void add_collector(std::function<void(Exposition&)> collector);

  // Prometheus text format 0.0.4 (Content-Type: text/plain; version=0.0.4; charset=utf-8).
  std::string render() const;

 private:
  enum class Type { Counter, Gauge, Histogram };
  struct Series {
    Labels labels;  // sorted by key
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name, help;
    Type type;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series* find_or_add(std::string_view name, std::string_view help, Type type, Labels& labels,
                      bool& created);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // registration order
  std::vector<std::unique_ptr<Series>> detached_;  // type clashes: usable, never rendered
  std::vector<std::function<void(Exposition&)>> collectors_;
};

// Registers a collector with process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_cpu_seconds_total and process_start_time_seconds,
// read from /proc/self at scrape time.
void add_process_metrics(Registry& reg);

// Formatting helpers, exposed for tests and for other exposition writers.
std::string format_value(double v);                  // shortest round-trip, "+Inf", "-Inf", "NaN"
std::string escape_label_value(std::string_view v);  // \\, \", \n

}  // namespace verge::metrics
