// The rule manager: the engine thread, message batching from the bus, timers, and the rule
// lifecycle. Status and metrics are in manager_status.cc.
#include "rules/manager.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "rules/manager_impl.h"
#include "rules/parser.h"
#include "store/metadata.h"

namespace verge::rules {

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Unexpected<RuleError> rule_error(RuleErrc code, std::string message) {
  return unexpected(RuleError{std::move(message), code, {}});
}

Unexpected<RuleError> not_found(std::string_view id) {
  return rule_error(RuleErrc::NotFound, "no rule '" + std::string(id) + "'");
}

Unexpected<RuleError> sql_error(const SqlError& e) {
  return unexpected(RuleError{format_error(e), RuleErrc::Sql, e});
}

}  // namespace

void RuleManager::Impl::TimerHandler::on_events(uint32_t /*events*/) {
  uint64_t expirations = 0;
  while (::read(impl_.timer_fd, &expirations, sizeof expirations) < 0 && errno == EINTR) {
  }
  impl_.armed_ms = INT64_MAX;
  impl_.on_timer();
}

RuleCounters add_counters(const RuleCounters& a, const RuleCounters& b) {
  RuleCounters c;
  c.records_in = a.records_in + b.records_in;
  c.records_out = a.records_out + b.records_out;
  c.filtered = a.filtered + b.filtered;
  c.decode_errors = a.decode_errors + b.decode_errors;
  c.eval_errors = a.eval_errors + b.eval_errors;
  c.late = a.late + b.late;
  c.evicted = a.evicted + b.evicted;
  c.last_error = b.last_error.empty() ? a.last_error : b.last_error;
  return c;
}

std::vector<double> latency_bounds_seconds() {
  return {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1e-1, 1.0};
}

// ---- messages ----------------------------------------------------------------------------------

void RuleManager::Impl::enqueue(uint64_t key, std::string_view topic, std::string_view payload) {
  const int64_t now = steady_ns();
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closing) return;
    const size_t bytes = topic.size() + payload.size() + sizeof(PendingMessage);
    // The engine is behind by this much: shed new input (counted) instead of growing without
    // bound; the broker's own queues are the place for back-pressure.
    if (pending_bytes + bytes > options.max_queued_bytes) {
      overflow_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    first = pending.empty();
    pending.push_back(
        PendingMessage{key, enqueue_seq++, now, std::string(topic), std::string(payload)});
    pending_bytes += bytes;
  }
  // One post per batch: the cross-thread cost is paid once for all messages queued meanwhile.
  if (first) loop.post([this] { drain(); });
}

void RuleManager::Impl::drain() {
  {
    std::lock_guard<std::mutex> lock(mu);
    draining.swap(pending);
    pending_bytes = 0;
  }
  int64_t now = wall_ms();
  size_t n = 0;
  for (PendingMessage& m : draining) {
    if ((++n & 255) == 0) now = wall_ms();  // a long batch still sees time pass
    auto it = subs_by_key.find(m.key);
    if (it == subs_by_key.end()) continue;  // unsubscribed since it arrived
    Subscription& sub = *it->second;
    if (!sub.tables.empty()) {
      auto v = parse_json(m.payload);
      for (const std::string& t : sub.tables) {
        const StreamDef* def = catalog.find(t);
        if (def == nullptr || !v || !v->is_object() || !tables.apply(*def, *v)) ++table_rejects;
      }
    }
    for (ManagedRule* r : sub.readers) {
      RuleProgram* program = r->program.get();
      if (r->retiring_sub == &sub) {
        if (m.seq >= r->cut) continue;  // its twin on the new subscription goes to the new program
        program = r->retiring.get();
      }
      out.rows.clear();
      out.rejected.clear();
      program->on_message(m.topic, m.payload, now, out);
      deliver(*r, now, m.arrival_ns);
      reschedule(*r);
    }
  }
  draining.clear();
  if (draining.capacity() > 65536) draining.shrink_to_fit();  // after a burst
  arm_timer();
}

// Sends `out` (rows and rejected records of one call into r's program) to r's actions and
// dead-letter topic, and observes the latency when the event came from the bus.
void RuleManager::Impl::deliver(ManagedRule& r, int64_t now_ms, int64_t arrival_ns) {
  for (const Value& row : out.rows) {
    for (auto& a : r.actions) a->emit(row, r.spec.id, now_ms);
  }
  if (!out.rejected.empty() && !r.spec.dead_letter_topic.empty() && services.bus != nullptr) {
    std::string json;
    for (const Rejected& rej : out.rejected) {
      json.clear();
      json += "{\"rule\":";
      append_json_string(json, r.spec.id);
      json += ",\"reason\":";
      append_json_string(json, rej.reason);
      json += ",\"payload\":";
      append_json_string(json, rej.payload);
      json += '}';
      services.bus->publish(r.spec.dead_letter_topic, json, 0, false);
    }
  }
  if (arrival_ns != 0) {
    const double us = static_cast<double>(steady_ns() - arrival_ns) / 1000.0;
    r.latency->observe(us / 1e6);
    r.latency_max_us = std::max(r.latency_max_us, us);
  }
}

void RuleManager::Impl::reschedule(ManagedRule& r) {
  const int64_t d = r.program ? r.program->next_deadline_ms() : INT64_MAX;
  if (d == r.deadline) return;
  if (r.deadline != INT64_MAX) deadlines.erase({r.deadline, &r});
  r.deadline = d;
  if (d != INT64_MAX) deadlines.insert({d, &r});
}

void RuleManager::Impl::on_timer() {
  const int64_t now = wall_ms();
  // The rules due now, taken out first: each runs once per expiry, so a program whose deadline
  // does not advance cannot keep the engine in this loop.
  std::vector<std::pair<int64_t, ManagedRule*>> due;
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    due.push_back(*deadlines.begin());
    deadlines.erase(deadlines.begin());
    due.back().second->deadline = INT64_MAX;
  }
  for (const auto& [deadline, r] : due) {
    if (!r->program) continue;
    out.rows.clear();
    out.rejected.clear();
    r->program->on_time(now, out);
    deliver(*r, now, 0);
    reschedule(*r);
    // No progress: try again in a millisecond rather than spin.
    if (r->deadline <= deadline) {
      deadlines.erase({r->deadline, r});
      r->deadline = now + 1;
      deadlines.insert({r->deadline, r});
    }
  }
  arm_timer();
}

void RuleManager::Impl::arm_timer() {
  const int64_t next = deadlines.empty() ? INT64_MAX : deadlines.begin()->first;
  if (next == armed_ms || timer_fd < 0) return;
  itimerspec spec{};
  if (next != INT64_MAX) {
    // A deadline already past still needs a non-zero value: zero would disarm the timer.
    const int64_t at = std::max<int64_t>(next, 1);
    spec.it_value.tv_sec = at / 1000;
    spec.it_value.tv_nsec = (at % 1000) * 1'000'000;
  }
  if (::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr) == 0) armed_ms = next;
}

// ---- subscriptions -----------------------------------------------------------------------------

Subscription* RuleManager::Impl::acquire(const std::string& filter) {
  auto it = subs.find(filter);
  if (it != subs.end()) return it->second.get();
  auto sub = std::make_unique<Subscription>();
  sub->filter = filter;
  sub->key = next_key++;
  if (services.bus != nullptr) {
    const uint64_t key = sub->key;
    sub->bus_id = services.bus->subscribe(
        filter, [this, key](std::string_view topic, std::string_view payload) {
          enqueue(key, topic, payload);
        });
  }
  Subscription* raw = sub.get();
  subs_by_key[raw->key] = raw;
  subs.emplace(filter, std::move(sub));
  return raw;
}

void RuleManager::Impl::release(Subscription* s) {
  if (!s->readers.empty() || !s->tables.empty()) return;
  if (services.bus != nullptr) services.bus->unsubscribe(s->bus_id);
  subs_by_key.erase(s->key);
  subs.erase(s->filter);
}

void RuleManager::Impl::attach(ManagedRule& r) {
  Subscription* s = acquire(r.program->source().topic_filter);
  s->readers.push_back(&r);
  r.source = s;
  r.state = RuleState::Running;
  r.error.clear();
  reschedule(r);
}

void RuleManager::Impl::fold_counters(ManagedRule& r) {
  if (r.program) r.base = add_counters(r.base, r.program->counters());
}

void RuleManager::Impl::detach(ManagedRule& r) {
  if (r.source != nullptr) {
    auto& readers = r.source->readers;
    readers.erase(std::remove(readers.begin(), readers.end(), &r), readers.end());
    release(r.source);
    r.source = nullptr;
  }
  if (r.deadline != INT64_MAX) deadlines.erase({r.deadline, &r});
  r.deadline = INT64_MAX;
  fold_counters(r);
  r.program.reset();
  if (r.state == RuleState::Running) r.state = RuleState::Stopped;
}

metrics::Histogram* RuleManager::Impl::latency_for(ManagedRule& r) {
  if (registry != nullptr) {
    r.own_latency.reset();
    return &registry->histogram("verge_rule_latency_seconds",
                                "Event arrival to the end of the rule's actions",
                                latency_bounds_seconds(), {{"rule", r.spec.id}});
  }
  if (!r.own_latency) {
    r.own_latency = std::make_unique<metrics::Histogram>(latency_bounds_seconds());
  }
  return r.own_latency.get();
}

// ---- lifecycle ---------------------------------------------------------------------------------

Result<RuleManager::Impl::Built, RuleError> RuleManager::Impl::build(const RuleSpec& spec) {
  auto program = RuleProgram::compile(spec.sql, catalog, &tables, spec.limits);
  if (!program) return sql_error(program.error());
  Built b;
  b.program = std::move(*program);
  b.reads.push_back(b.program->source().name);
  for (const std::string& t : b.program->tables()) b.reads.push_back(t);
  for (size_t i = 0; i < spec.actions.size(); ++i) {
    auto a = make_action(spec.actions[i], services);
    if (!a) {
      return rule_error(RuleErrc::Invalid,
                        "actions[" + std::to_string(i) + "]: " + a.error().message);
    }
    b.actions.push_back(std::move(*a));
  }
  return b;
}

Result<void, RuleError> RuleManager::Impl::save(const RuleSpec& spec) {
  if (!store || spec.from_config) return {};
  if (auto s = store->put_rule(spec.id, spec.to_value().to_json()); !s) {
    return rule_error(RuleErrc::Internal, "saving rule '" + spec.id + "': " + s.error().message);
  }
  return {};
}

Result<RuleStatus, RuleError> RuleManager::Impl::create_rule(const RuleSpec& spec, bool persist) {
  if (!rule_id_valid(spec.id)) {
    return rule_error(RuleErrc::Invalid,
                      "id: 1 to 128 characters of letters, digits, '_', '-' or '.'");
  }
  if (rules.count(spec.id) != 0) {
    return rule_error(RuleErrc::Exists, "rule '" + spec.id + "' exists");
  }
  auto built = build(spec);
  if (!built) return unexpected(built.error());
  auto r = std::make_unique<ManagedRule>();
  r->spec = spec;
  r->reads = std::move(built->reads);
  r->actions = std::move(built->actions);
  r->latency = latency_for(*r);
  if (persist) {
    if (auto s = save(r->spec); !s) return unexpected(s.error());
  }
  ManagedRule& ref = *r;
  rules.emplace(spec.id, std::move(r));
  if (spec.enabled) {
    ref.program = std::move(built->program);
    attach(ref);
  }
  return status_of(ref);
}

Result<RuleStatus, RuleError> RuleManager::Impl::update_rule(const RuleSpec& spec) {
  auto it = rules.find(spec.id);
  if (it == rules.end()) return not_found(spec.id);
  ManagedRule& r = *it->second;
  if (r.spec.from_config && !spec.from_config) {
    return rule_error(RuleErrc::Conflict, "rule '" + spec.id +
                                              "' is declared in the configuration file; change "
                                              "it there");
  }
  auto built = build(spec);
  if (!built) return unexpected(built.error());
  if (auto s = save(spec); !s) return unexpected(s.error());
  if (!spec.enabled) {
    drain();  // what has arrived belongs to the old program
    detach(r);
    r.spec = spec;
    r.actions = std::move(built->actions);
    r.reads = std::move(built->reads);
    r.state = RuleState::Stopped;
    r.error.clear();
    arm_timer();
    return status_of(r);
  }
  Subscription* old_sub = r.source;
  Subscription* new_sub = acquire(built->program->source().topic_filter);
  if (new_sub == old_sub) {
    // Same filter: what is queued now is the old program's, what comes later the new one's.
    drain();
  }
  // A message published after the new subscription exists is queued on it (and, if it matches
  // the old filter too, also on the old one, in either order and maybe in different batches).
  // Messages on the old subscription queued before `cut` go to the old program, everything on
  // the new subscription to the new program. Nothing is lost. The cut is read after subscribe()
  // returns, so a publish that raced with it (queued on the old subscription just before the cut
  // and on the new one too) is processed by both programs: at most one message per publishing
  // thread and update. Exact once would need the bus to mark the instant the new subscription
  // took effect, which Bus does not offer.
  uint64_t cut = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    cut = enqueue_seq;
  }
  if (r.deadline != INT64_MAX) deadlines.erase({r.deadline, &r});
  r.deadline = INT64_MAX;
  if (old_sub != nullptr && old_sub != new_sub) {
    r.retiring = std::move(r.program);
    r.retiring_sub = old_sub;
    r.cut = cut;
  } else {
    fold_counters(r);
  }
  r.spec = spec;
  r.program = std::move(built->program);
  r.actions = std::move(built->actions);
  r.reads = std::move(built->reads);
  r.source = new_sub;
  if (new_sub != old_sub) new_sub->readers.push_back(&r);
  r.state = RuleState::Running;
  r.error.clear();
  if (r.retiring) {
    drain();  // every message before the cut is queued by now: the old program sees them
    r.base = add_counters(r.base, r.retiring->counters());
    r.retiring.reset();
    r.retiring_sub = nullptr;
    auto& readers = old_sub->readers;
    readers.erase(std::remove(readers.begin(), readers.end(), &r), readers.end());
    release(old_sub);
  }
  reschedule(r);
  arm_timer();
  return status_of(r);
}

Result<void, RuleError> RuleManager::Impl::start_rule(ManagedRule& r) {
  if (r.program) return {};  // running
  auto built = build(r.spec);
  if (!built) {
    r.state = RuleState::Failed;
    r.error = built.error().message;
    return unexpected(built.error());
  }
  r.reads = std::move(built->reads);
  r.actions = std::move(built->actions);
  r.program = std::move(built->program);
  attach(r);
  arm_timer();
  return {};
}

// A stream defined late (or again) may be what a failed rule was missing.
void RuleManager::Impl::retry_failed() {
  for (auto& [id, r] : rules) {
    if (r->state != RuleState::Failed || !r->spec.enabled) continue;
    if (start_rule(*r)) log_info("rule started", {{"rule", id}});
  }
}

bool RuleManager::Impl::stream_in_use(std::string_view name, std::string* readers) const {
  bool used = false;
  for (const auto& [id, r] : rules) {
    if (std::find(r->reads.begin(), r->reads.end(), name) == r->reads.end()) continue;
    if (used) *readers += ", ";
    *readers += id;
    used = true;
  }
  return used;
}

Result<void, RuleError> RuleManager::Impl::define(std::string_view sql, bool from_config,
                                                  bool persist) {
  auto stmt = parse_create(sql);
  if (!stmt) return sql_error(stmt.error());
  const std::string name = stmt->name;
  const StreamDef* old = catalog.find(name);
  if (old != nullptr) {
    if (old->sql == sql) {
      if (from_config) config_streams.insert(name);
      return {};
    }
    if (config_streams.count(name) != 0 && !from_config) {
      return rule_error(RuleErrc::Conflict,
                        "stream '" + name + "' is declared in the configuration file");
    }
    std::string readers;
    if (stream_in_use(name, &readers)) {
      return rule_error(RuleErrc::Conflict, "stream '" + name + "' is read by rules " + readers +
                                                "; remove them before redefining it");
    }
  }
  // Validate on a scratch catalog first, so a bad statement changes nothing.
  Catalog scratch;
  if (auto r = scratch.define(*stmt, std::string(sql)); !r) return sql_error(r.error());
  if (persist && store && !from_config) {
    if (auto s = store->put_stream(name, sql); !s) {
      return rule_error(RuleErrc::Internal, "saving stream '" + name + "': " + s.error().message);
    }
  }
  // Leave the old table's subscription before replacing the definition.
  if (old != nullptr && old->is_table) {
    auto it = subs.find(old->topic_filter);
    if (it != subs.end()) {
      Subscription* s = it->second.get();
      s->tables.erase(std::remove(s->tables.begin(), s->tables.end(), name), s->tables.end());
      release(s);
    }
  }
  if (auto r = catalog.define(*stmt, std::string(sql)); !r) return sql_error(r.error());
  if (from_config) {
    config_streams.insert(name);
  } else {
    config_streams.erase(name);
  }
  const StreamDef* def = catalog.find(name);
  if (def != nullptr && def->is_table) acquire(def->topic_filter)->tables.push_back(name);
  retry_failed();
  return {};
}

void RuleManager::Impl::load_saved() {
  auto streams = store->streams();
  if (!streams) {
    log_error("cannot read saved streams", {{"error", streams.error().message}});
  } else {
    for (const auto& [name, sql] : *streams) {
      if (auto r = define(sql, false, false); !r) {
        log_error("saved stream refused", {{"stream", name}, {"error", r.error().message}});
      }
    }
  }
  auto saved = store->rules();
  if (!saved) {
    log_error("cannot read saved rules", {{"error", saved.error().message}});
    return;
  }
  for (const auto& [id, json] : *saved) {
    auto v = parse_json(json);
    Result<RuleSpec> spec =
        v ? RuleSpec::from_value(*v) : Result<RuleSpec>(unexpected(Error{v.error().message}));
    if (!spec) {
      log_error("saved rule unreadable", {{"rule", id}, {"error", spec.error().message}});
      continue;
    }
    if (auto r = create_rule(*spec, false); !r) {
      // Kept, failed, so the operator sees it (and a later stream definition may revive it).
      auto m = std::make_unique<ManagedRule>();
      m->spec = *spec;
      m->state = RuleState::Failed;
      m->error = r.error().message;
      m->latency = latency_for(*m);
      rules.emplace(spec->id, std::move(m));
      log_error("saved rule failed", {{"rule", id}, {"error", r.error().message}});
    }
  }
}

// ---- public API --------------------------------------------------------------------------------

Result<std::unique_ptr<RuleManager>> RuleManager::create(ManagerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl* p = impl.get();
  p->services = p->options.services;
  p->services.loop = &p->loop;
  if (p->options.meta != nullptr) {
    auto st = ManagerStore::open(p->options.meta->path());
    if (!st) return unexpected(st.error());
    p->store = std::move(*st);
  }
  p->timer_fd = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (p->timer_fd < 0) {
    return unexpected(Error{std::string("timerfd_create: ") + std::strerror(errno)});
  }
  p->timer_handler = std::make_unique<Impl::TimerHandler>(*p);
  std::promise<std::thread::id> started;
  auto id = started.get_future();
  p->thread = std::thread([p, &started] {
    started.set_value(std::this_thread::get_id());
    p->loop.run();
  });
  p->engine_id = id.get();
  std::unique_ptr<RuleManager> m(new RuleManager(std::move(impl)));
  p->run_sync([p] {
    p->loop.add(p->timer_fd, EPOLLIN, p->timer_handler.get());
    if (p->store) p->load_saved();
  });
  return m;
}

RuleManager::RuleManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RuleManager::~RuleManager() {
  Impl* p = impl_.get();
  for (auto& fn : p->on_destroy) fn();
  // Leave the bus first so no handler runs into a dying manager, then stop the thread.
  p->run_sync([p] {
    for (auto& [filter, sub] : p->subs) {
      if (p->services.bus != nullptr) p->services.bus->unsubscribe(sub->bus_id);
    }
    p->loop.remove(p->timer_fd);
  });
  {
    std::lock_guard<std::mutex> lock(p->mu);
    p->closing = true;
  }
  p->loop.stop();
  p->thread.join();
  // Actions and programs are destroyed with `rules`, after the thread: nothing runs them now.
  p->rules.clear();
  ::close(p->timer_fd);
}

void RuleManager::run_on_engine(const std::function<void()>& fn) const { impl_->run_sync(fn); }

Result<void, RuleError> RuleManager::define_stream(std::string_view create_sql, bool from_config) {
  Impl* p = impl_.get();
  return p->run_sync([&] { return p->define(create_sql, from_config, true); });
}

Result<void, RuleError> RuleManager::drop_stream(std::string_view name, bool from_config) {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<void, RuleError> {
    const StreamDef* def = p->catalog.find(name);
    if (def == nullptr) {
      return rule_error(RuleErrc::NotFound, "no stream '" + std::string(name) + "'");
    }
    if (p->config_streams.count(name) != 0 && !from_config) {
      return rule_error(RuleErrc::Conflict,
                        "stream '" + std::string(name) + "' is declared in the configuration file");
    }
    std::string readers;
    if (p->stream_in_use(name, &readers)) {
      return rule_error(RuleErrc::Conflict,
                        "stream '" + std::string(name) + "' is read by rules " + readers);
    }
    if (p->store && p->config_streams.count(name) == 0) {
      if (auto s = p->store->delete_stream(name); !s) {
        return rule_error(RuleErrc::Internal, "deleting stream: " + s.error().message);
      }
    }
    if (def->is_table) {
      auto it = p->subs.find(def->topic_filter);
      if (it != p->subs.end()) {
        Subscription* s = it->second.get();
        s->tables.erase(std::remove(s->tables.begin(), s->tables.end(), def->name),
                        s->tables.end());
        p->release(s);
      }
    }
    p->config_streams.erase(std::string(name));
    p->catalog.remove(name);
    return {};
  });
}

std::vector<StreamDef> RuleManager::streams() const {
  Impl* p = impl_.get();
  return p->run_sync([p] {
    std::vector<StreamDef> out;
    for (const StreamDef* d : p->catalog.all()) out.push_back(*d);
    return out;
  });
}

Result<void, SqlError> RuleManager::validate(std::string_view sql) const {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<void, SqlError> {
    auto program = RuleProgram::compile(sql, p->catalog, &p->tables, RuleLimits{});
    if (!program) return unexpected(program.error());
    return {};
  });
}

Result<RuleStatus, RuleError> RuleManager::create(const RuleSpec& spec) {
  Impl* p = impl_.get();
  return p->run_sync([&] {
    auto r = p->create_rule(spec, true);
    p->arm_timer();
    return r;
  });
}

Result<RuleStatus, RuleError> RuleManager::update(const RuleSpec& spec) {
  Impl* p = impl_.get();
  return p->run_sync([&] { return p->update_rule(spec); });
}

Result<void, RuleError> RuleManager::remove(std::string_view id, bool from_config) {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<void, RuleError> {
    auto it = p->rules.find(id);
    if (it == p->rules.end()) return not_found(id);
    ManagedRule& r = *it->second;
    if (r.spec.from_config && !from_config) {
      return rule_error(RuleErrc::Conflict, "rule '" + std::string(id) +
                                                "' is declared in the configuration file; "
                                                "remove it there");
    }
    if (p->store && !r.spec.from_config) {
      if (auto s = p->store->delete_rule(id); !s) {
        return rule_error(RuleErrc::Internal, "deleting rule: " + s.error().message);
      }
    }
    p->detach(r);
    p->rules.erase(it);
    p->arm_timer();
    return {};
  });
}

Result<void, RuleError> RuleManager::start(std::string_view id) {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<void, RuleError> {
    auto it = p->rules.find(id);
    if (it == p->rules.end()) return not_found(id);
    ManagedRule& r = *it->second;
    const bool was_enabled = r.spec.enabled;
    r.spec.enabled = true;
    if (!was_enabled) {
      if (auto s = p->save(r.spec); !s) {
        r.spec.enabled = false;
        return unexpected(s.error());
      }
    }
    return p->start_rule(r);
  });
}

Result<void, RuleError> RuleManager::stop(std::string_view id) {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<void, RuleError> {
    auto it = p->rules.find(id);
    if (it == p->rules.end()) return not_found(id);
    ManagedRule& r = *it->second;
    if (r.spec.enabled) {
      r.spec.enabled = false;
      if (auto s = p->save(r.spec); !s) {
        r.spec.enabled = true;
        return unexpected(s.error());
      }
    }
    p->detach(r);
    r.state = RuleState::Stopped;
    p->arm_timer();
    return {};
  });
}

Result<void, RuleError> RuleManager::restart(std::string_view id) {
  if (auto r = stop(id); !r) return r;
  return start(id);
}

Result<RuleStatus, RuleError> RuleManager::status(std::string_view id) const {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<RuleStatus, RuleError> {
    auto it = p->rules.find(id);
    if (it == p->rules.end()) return not_found(id);
    return p->status_of(*it->second);
  });
}

std::vector<RuleStatus> RuleManager::list() const {
  Impl* p = impl_.get();
  return p->run_sync([p] {
    std::vector<RuleStatus> out;
    out.reserve(p->rules.size());
    for (const auto& [id, r] : p->rules) out.push_back(p->status_of(*r));
    return out;
  });
}

Result<RuleSpec, RuleError> RuleManager::spec(std::string_view id) const {
  Impl* p = impl_.get();
  return p->run_sync([&]() -> Result<RuleSpec, RuleError> {
    auto it = p->rules.find(id);
    if (it == p->rules.end()) return not_found(id);
    return it->second->spec;
  });
}

}  // namespace verge::rules
