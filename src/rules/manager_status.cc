// Rule status (REST) and metrics (Prometheus) from the manager's state on the engine thread.
#include <algorithm>
#include <memory>
#include <mutex>

#include "rules/manager_impl.h"

namespace verge::rules {

namespace {

// The q-quantile in microseconds from a histogram in seconds, interpolated inside its bucket and
// capped by the largest value seen (the +Inf bucket has no upper bound of its own).
double quantile_us(const metrics::Histogram::Snapshot& s, double q, double max_us) {
  if (s.count == 0) return 0;
  const double target = q * static_cast<double>(s.count);
  uint64_t below = 0;
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    if (static_cast<double>(s.cumulative[i]) < target) {
      below = s.cumulative[i];
      continue;
    }
    const double lo = i == 0 ? 0.0 : s.bounds[i - 1] * 1e6;
    const double hi = i < s.bounds.size() ? s.bounds[i] * 1e6 : max_us;
    const uint64_t in_bucket = s.cumulative[i] - below;
    const double frac =
        in_bucket == 0 ? 1.0
                       : (target - static_cast<double>(below)) / static_cast<double>(in_bucket);
    return std::min(lo + (hi - lo) * frac, max_us);
  }
  return max_us;
}

// What one scrape reads of a rule, copied on the engine thread.
struct RuleSample {
  std::string id;
  RuleState state;
  RuleCounters counters;
  std::vector<ActionStatus> actions;
};

// The collector may outlive the manager in the registry: it reaches the manager through this,
// which the manager's destructor clears.
struct CollectorLink {
  std::mutex mu;
  RuleManager::Impl* impl = nullptr;  // guarded by mu
};

}  // namespace

RuleStatus RuleManager::Impl::status_of(const ManagedRule& r) const {
  RuleStatus s;
  s.id = r.spec.id;
  s.sql = r.spec.sql;
  s.from_config = r.spec.from_config;
  s.state = r.state;
  s.error = r.error;
  s.counters = r.program ? add_counters(r.base, r.program->counters()) : r.base;
  for (const auto& a : r.actions)
    s.actions.push_back(ActionStatus{std::string(a->kind()), a->counters()});
  if (r.latency != nullptr) {
    const auto snap = r.latency->snapshot();
    s.latency_count = snap.count;
    s.latency_max_us = r.latency_max_us;
    s.latency_p50_us = quantile_us(snap, 0.5, r.latency_max_us);
    s.latency_p99_us = quantile_us(snap, 0.99, r.latency_max_us);
  }
  s.state_bytes = r.program ? r.program->state_bytes() : 0;
  return s;
}

void RuleManager::register_metrics(metrics::Registry& registry) {
  Impl* p = impl_.get();
  p->run_sync([p, &registry] {
    p->registry = &registry;
    // Move every rule to the registry's series (observations so far stay in the old one).
    for (auto& [id, r] : p->rules) r->latency = p->latency_for(*r);
  });
  auto link = std::make_shared<CollectorLink>();
  link->impl = p;
  p->on_destroy.push_back([link] {
    std::lock_guard<std::mutex> lock(link->mu);
    link->impl = nullptr;
  });
  registry.add_collector([link](metrics::Exposition& e) {
    std::lock_guard<std::mutex> lock(link->mu);
    Impl* impl = link->impl;
    if (impl == nullptr) return;
    uint64_t running = 0, failed = 0, overflow = 0, table_rejects = 0, evicted_rows = 0;
    std::vector<RuleSample> samples = impl->run_sync([&] {
      std::vector<RuleSample> out;
      out.reserve(impl->rules.size());
      for (const auto& [id, r] : impl->rules) {
        RuleStatus st = impl->status_of(*r);
        running += st.state == RuleState::Running ? 1 : 0;
        failed += st.state == RuleState::Failed ? 1 : 0;
        out.push_back(RuleSample{id, st.state, std::move(st.counters), std::move(st.actions)});
      }
      overflow = impl->overflow_dropped.load(std::memory_order_relaxed);
      table_rejects = impl->table_rejects;
      evicted_rows = impl->tables.evicted;
      return out;
    });
    e.gauge("verge_rules_loaded", "Rules loaded (running, stopped or failed)", {},
            static_cast<double>(samples.size()));
    e.gauge("verge_rules_running", "Rules running", {}, static_cast<double>(running));
    e.gauge("verge_rules_failed", "Rules that failed to build", {}, static_cast<double>(failed));
    e.counter("verge_rule_engine_overflow_total",
              "Bus messages dropped because the engine was too far behind", {},
              static_cast<double>(overflow));
    e.counter("verge_rule_table_rejects_total",
              "Table messages refused (not a JSON object or no key)", {},
              static_cast<double>(table_rejects));
    e.counter("verge_rule_table_evicted_total", "Table rows evicted by the row limit", {},
              static_cast<double>(evicted_rows));
    for (const RuleSample& s : samples) {
      const metrics::Labels l = {{"rule", s.id}};
      const RuleCounters& c = s.counters;
      e.counter("verge_rule_records_in_total", "Events offered to the rule", l,
                static_cast<double>(c.records_in));
      e.counter("verge_rule_records_out_total", "Rows the rule emitted", l,
                static_cast<double>(c.records_out));
      e.counter("verge_rule_filtered_total", "Events WHERE rejected", l,
                static_cast<double>(c.filtered));
      e.counter("verge_rule_errors_total", "Events the rule could not process",
                {{"rule", s.id}, {"kind", "decode"}}, static_cast<double>(c.decode_errors));
      e.counter("verge_rule_errors_total", "Events the rule could not process",
                {{"rule", s.id}, {"kind", "eval"}}, static_cast<double>(c.eval_errors));
      e.counter("verge_rule_late_total", "Events behind the watermark by more than the lateness", l,
                static_cast<double>(c.late));
      e.counter("verge_rule_evicted_total", "Groups, rows or partitions dropped by a limit", l,
                static_cast<double>(c.evicted));
      for (size_t i = 0; i < s.actions.size(); ++i) {
        const ActionStatus& a = s.actions[i];
        const metrics::Labels al = {
            {"rule", s.id}, {"action", a.kind}, {"index", std::to_string(i)}};
        e.counter("verge_rule_action_sent_total", "Rows the action completed", al,
                  static_cast<double>(a.counters.sent));
        e.counter("verge_rule_action_failed_total", "Rows the action gave up on", al,
                  static_cast<double>(a.counters.failed));
        e.counter("verge_rule_action_retried_total", "Retry attempts of the action", al,
                  static_cast<double>(a.counters.retried));
        e.counter("verge_rule_action_dropped_total", "Rows refused by a full action queue", al,
                  static_cast<double>(a.counters.dropped));
      }
    }
  });
}

}  // namespace verge::rules
