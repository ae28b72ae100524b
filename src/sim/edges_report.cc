#include "sim/edges_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace verge::sim {

namespace {

double per_s(uint64_t a, uint64_t b, double dt) {
  return dt > 0 && b >= a ? static_cast<double>(b - a) / dt : 0;
}

// Three decimals are plenty for seconds and rates, and keep the report readable.
Value rounded(double v) { return Value(std::round(v * 1000.0) / 1000.0); }

}  // namespace

std::string progress_line(const ProgressSample& prev, const ProgressSample& now, uint64_t nodes) {
  const double dt = now.t_s - prev.t_s;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "t=%.0fs nodes %llu/%llu produced %.0f/s acked %.0f/s backlog %llu sent %.2f MB/s",
                now.t_s, static_cast<unsigned long long>(now.nodes_connected),
                static_cast<unsigned long long>(nodes),
                per_s(prev.records_produced, now.records_produced, dt),
                per_s(prev.records_acked, now.records_acked, dt),
                static_cast<unsigned long long>(now.backlog_left),
                per_s(prev.bytes_sent, now.bytes_sent, dt) / 1e6);
  return buf;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank =
      std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size()));
  const size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(idx, values.size() - 1)];
}

Value report_value(const EdgesReport& r) {
  ValueObject o{
      {"nodes", static_cast<int64_t>(r.nodes)},
      {"nodes_connected", static_cast<int64_t>(r.nodes_connected)},
      {"enrolled", static_cast<int64_t>(r.enrolled)},
      {"enrol_failed", static_cast<int64_t>(r.enrol_failed)},
      {"enrol_seconds", rounded(r.enrol_seconds)},
      {"run_seconds", rounded(r.run_seconds)},
      {"records_produced", static_cast<int64_t>(r.records_produced)},
      {"records_acked", static_cast<int64_t>(r.records_acked)},
      {"ack_rate",
       rounded(r.run_seconds > 0 ? static_cast<double>(r.records_acked) / r.run_seconds : 0.0)},
      {"backlog_total", static_cast<int64_t>(r.backlog_total)},
      {"backlog_left", static_cast<int64_t>(r.backlog_left)},
      {"drain_seconds", r.drain_seconds ? rounded(*r.drain_seconds) : Value()},
      {"batches_sent", static_cast<int64_t>(r.batches_sent)},
      {"bytes_sent", static_cast<int64_t>(r.bytes_sent)},
      {"resends", static_cast<int64_t>(r.resends)},
      {"acks", static_cast<int64_t>(r.acks)},
      {"reconnects", static_cast<int64_t>(r.reconnects)},
      {"rebases", static_cast<int64_t>(r.rebases)},
  };
  if (r.desired.requested) {
    const DesiredReport& d = r.desired;
    ValueObject desired{
        {"nodes", static_cast<int64_t>(d.nodes)},
        {"delivered", static_cast<int64_t>(d.delivered)},
        {"p50_seconds", rounded(percentile(d.latencies, 50))},
        {"p99_seconds", rounded(percentile(d.latencies, 99))},
        {"max_seconds", rounded(percentile(d.latencies, 100))},
        // Only when every node got it: a partial delivery has no "all delivered" time.
        {"all_delivered_seconds",
         d.nodes > 0 && d.delivered == d.nodes ? rounded(percentile(d.latencies, 100)) : Value()},
    };
    if (!d.error.empty()) desired.emplace_back("error", d.error);
    o.emplace_back("desired", Value(std::move(desired)));
  }
  return Value(std::move(o));
}

}  // namespace verge::sim
