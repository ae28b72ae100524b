#include "devices/device.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/clock.h"
#include "core/log.h"
#include "devices/device_store.h"
#include "devices/point_value.h"
#include "devices/sample_json.h"
#include "net/event_loop.h"
#include "rules/bus.h"
#include "store/tsdb.h"

namespace verge::devices {

namespace {

// The tsdb type of a point's calibrated values: calibration makes numbers floats.
store::ValueType series_type(const PointSpec& p, const Calibration& cal) {
  if (p.type == DataType::Bool) return store::ValueType::Bool;
  if (p.type == DataType::String) return store::ValueType::String;
  const bool identity = cal.scale == 1.0 && cal.offset == 0.0;
  if (identity && p.type != DataType::Float32 && p.type != DataType::Float64) {
    return store::ValueType::Int;
  }
  return store::ValueType::Float;
}

}  // namespace

Device::Device(DeviceServices& services, net::EventLoop& loop, const AdapterFactory& factory,
               std::shared_ptr<const DeviceSpec> spec, std::shared_ptr<const Profile> profile)
    : services_(services),
      loop_(loop),
      id_(spec->id),
      data_topic_("verge/devices/" + spec->id + "/data"),
      status_topic_("verge/devices/" + spec->id + "/status"),
      commands_topic_("verge/devices/" + spec->id + "/commands"),
      factory_(&factory),
      spec_(std::move(spec)),
      profile_(std::move(profile)) {
  since_ms_ = wall_ms();
  configure_locked();
}

Device::~Device() = default;

std::shared_ptr<const DeviceSpec> Device::spec() const {
  std::lock_guard lock(mu_);
  return spec_;
}

std::shared_ptr<const Profile> Device::profile() const {
  std::lock_guard lock(mu_);
  return profile_;
}

std::shared_ptr<const Device::ProfilePoints> Device::profile_points(
    const std::shared_ptr<const Profile>& profile) {
  // Keyed by address: an entry holds its profile, so the address is not reused while it lives.
  static std::mutex mu;
  static std::unordered_map<const Profile*, std::weak_ptr<const ProfilePoints>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(profile.get()); it != cache.end()) {
    if (auto live = it->second.lock()) return live;
  }
  std::erase_if(cache, [](const auto& e) { return e.second.expired(); });
  auto shared = std::make_shared<ProfilePoints>();
  shared->profile = profile;
  const auto& pts = profile->points;
  auto cal = std::make_shared<std::vector<Calibration>>(pts.size());
  auto decimals = std::make_shared<std::vector<int8_t>>(pts.size());
  shared->by_name.reserve(pts.size());
  for (size_t i = 0; i < pts.size(); ++i) {
    (*cal)[i] = Calibration{pts[i].scale, pts[i].offset};
    (*decimals)[i] = static_cast<int8_t>(calibration_decimals((*cal)[i]));
    shared->by_name.emplace(pts[i].name, static_cast<uint32_t>(i));
  }
  shared->calibration = std::move(cal);
  shared->decimals = std::move(decimals);
  cache[profile.get()] = shared;
  return shared;
}

void Device::configure_locked() {
  auto index = std::make_shared<PointIndex>();
  index->profile = profile_;
  index->spec = spec_;
  index->shared = profile_points(profile_);
  index->calibration = index->shared->calibration;
  index->decimals = index->shared->decimals;
  if (!spec_->calibration.empty()) {
    auto own = std::make_shared<std::vector<Calibration>>(*index->shared->calibration);
    auto decimals = std::make_shared<std::vector<int8_t>>(*index->shared->decimals);
    for (const auto& [name, cal] : spec_->calibration) {
      if (auto it = index->shared->by_name.find(name); it != index->shared->by_name.end()) {
        (*own)[it->second] = cal;
        (*decimals)[it->second] = static_cast<int8_t>(calibration_decimals(cal));
      }
    }
    index->calibration = std::move(own);
    index->decimals = std::move(decimals);
  }
  index_ = std::move(index);
  points_.assign(profile_->points.size(), PointState{});
  points_.shrink_to_fit();
  strings_.clear();
  reasons_.clear();
  reason_ids_.clear();
  reasons_.emplace_back();
  reason_ids_.emplace(reasons_.front(), 0);
}

uint32_t Device::intern_reason_locked(std::string_view reason) {
  if (reason.empty()) return 0;
  if (auto it = reason_ids_.find(reason); it != reason_ids_.end()) return it->second;
  // Bounded: at most two reasons per point are in use, so a rebuild always makes room.
  if (reasons_.size() > 2 * points_.size() + 16) {
    std::deque<std::string> kept;
    std::unordered_map<uint32_t, uint32_t> remap{{0, 0}};
    kept.emplace_back();
    auto keep = [&](uint32_t& id) {
      auto [it, fresh] = remap.emplace(id, static_cast<uint32_t>(kept.size()));
      if (fresh) kept.push_back(std::move(reasons_[id]));
      id = it->second;
    };
    for (auto& st : points_) {
      keep(st.reason);
      keep(st.reported_reason);
    }
    reasons_ = std::move(kept);
    reason_ids_.clear();
    for (size_t i = 0; i < reasons_.size(); ++i) {
      reason_ids_.emplace(reasons_[i], static_cast<uint32_t>(i));
    }
  }
  reasons_.emplace_back(reason);
  const auto id = static_cast<uint32_t>(reasons_.size() - 1);
  reason_ids_.emplace(reasons_.back(), id);
  return id;
}

Value Device::latest_locked(uint32_t index) const {
  const PointState& st = points_[index];
  switch (st.kind) {
    case Value::Type::Bool:
      return Value(st.latest.i != 0);
    case Value::Type::Int:
      return Value(st.latest.i);
    case Value::Type::Float:
      return Value(st.latest.f);
    case Value::Type::String: {
      auto it = strings_.find(index);
      return it != strings_.end() ? Value(it->second) : Value(std::string());
    }
    default:
      return Value();
  }
}

void Device::set_latest_locked(uint32_t index, Value v) {
  PointState& st = points_[index];
  if (st.kind == Value::Type::String && !v.is_string()) strings_.erase(index);
  switch (v.type()) {
    case Value::Type::Bool:
      st.kind = Value::Type::Bool;
      st.latest.i = v.as_bool() ? 1 : 0;
      break;
    case Value::Type::Int:
      st.kind = Value::Type::Int;
      st.latest.i = v.as_int();
      break;
    case Value::Type::Float:
      st.kind = Value::Type::Float;
      st.latest.f = v.as_float();
      break;
    case Value::Type::String:
      st.kind = Value::Type::String;
      strings_[index] = v.as_string();
      break;
    default:  // readings are scalars; anything else is kept as no value
      st.kind = Value::Type::Null;
      st.latest.i = 0;
      break;
  }
}

std::shared_ptr<const Device::PointIndex> Device::index() const {
  std::lock_guard lock(mu_);
  return index_;
}

bool Device::online() const {
  std::lock_guard lock(mu_);
  return online_;
}

bool Device::has_adapter() const {
  std::lock_guard lock(mu_);
  return adapter_live_;
}

// --- lifecycle ---------------------------------------------------------------------------------

void Device::create_adapter() {
  std::shared_ptr<const DeviceSpec> spec;
  std::shared_ptr<const Profile> profile;
  {
    std::lock_guard lock(mu_);
    spec = spec_;
    profile = profile_;
  }
  if (!spec->enabled) {
    std::lock_guard lock(mu_);
    reason_ = "disabled";
    return;
  }
  adapter_spec_ = spec;
  adapter_profile_ = profile;
  ctx_ = AdapterContext{adapter_spec_.get(), adapter_profile_.get(), &loop_, this, services_.bus};
  adapter_ = factory_->create(ctx_);
  {
    std::lock_guard lock(mu_);
    adapter_live_ = adapter_ != nullptr;
    reason_ = adapter_ ? "connecting" : "waiting for data";
  }
  if (adapter_) adapter_->start();
}

void Device::start() {
  auto self = shared_from_this();
  loop_.post([self] {
    std::lock_guard life(self->life_mu_);
    if (self->stopped_ || self->adapter_) return;
    self->create_adapter();
  });
}

void Device::stop_adapter() {
  {
    std::lock_guard lock(mu_);
    adapter_live_ = false;   // first: nothing new is dispatched to a stopping adapter
    requeue_writes_ = true;  // a write the stop cuts short is retried after the restart
  }
  std::unique_ptr<Adapter> adapter;
  {
    std::lock_guard life(life_mu_);
    stopped_ = true;
    adapter = std::move(adapter_);
    if (adapter) adapter->stop();
  }
  adapter.reset();
  std::vector<Command> requeued;
  {
    std::lock_guard lock(mu_);
    requeue_inflight_locked(requeued);
  }
  after_requeue(requeued);
}

void Device::requeue_inflight_locked(std::vector<Command>& requeued) {
  if (!inflight_) return;
  inflight_->status = CommandStatus::Queued;
  inflight_->error.clear();
  inflight_->updated_ms = wall_ms();
  inflight_->deadline_ms = 0;
  note_desired_locked(*inflight_);
  requeued.push_back(*inflight_);
  queue_.push_front(std::move(inflight_));
  inflight_.reset();
}

void Device::after_requeue(const std::vector<Command>& requeued) {
  for (const auto& cmd : requeued) {
    if (services_.store != nullptr) {
      if (auto r = services_.store->update_command(cmd); !r) {
        log_warn("cannot store a requeued command",
                 {{"device", id_}, {"command", cmd.id}, {"error", r.error().message}});
      }
    }
    if (cmd.waiter) cmd.waiter->set(cmd.waiter_slot, cmd);
  }
}

void Device::replace(const AdapterFactory& factory, std::shared_ptr<const DeviceSpec> spec,
                     std::shared_ptr<const Profile> profile) {
  auto self = shared_from_this();
  loop_.post([self, &factory, spec = std::move(spec), profile = std::move(profile)] {
    std::vector<Command> done, requeued;
    std::lock_guard life(self->life_mu_);
    if (self->stopped_) return;
    {
      std::lock_guard lock(self->mu_);
      self->requeue_writes_ = true;  // the write in flight is retried by the new adapter
    }
    if (self->adapter_) self->adapter_->stop();
    self->adapter_.reset();
    {
      std::lock_guard lock(self->mu_);
      self->adapter_live_ = false;
      self->requeue_inflight_locked(requeued);
      self->requeue_writes_ = false;
      // Offline until the new adapter reports: its first on_link(true) then dispatches what
      // was queued meanwhile.
      if (self->online_) {
        self->online_ = false;
        self->reason_ = "restarting";
        std::string topic, payload;
        self->publish_status_locked(topic, payload);
      }
      self->factory_ = &factory;
      self->spec_ = spec;
      self->profile_ = profile;
      self->configure_locked();
      // Queued commands keep their point by name; one whose point went or turned read-only fails.
      for (auto& cmd : self->queue_) {
        int index = -1;
        for (size_t i = 0; i < profile->points.size(); ++i) {
          if (profile->points[i].name == cmd->point) index = static_cast<int>(i);
        }
        if (index < 0 || profile->points[static_cast<size_t>(index)].access == Access::Read) {
          self->finish_locked(cmd, CommandStatus::Failed, "point changed by a profile update",
                              done);
        } else {
          cmd->point_index = static_cast<uint32_t>(index);
        }
      }
      std::erase_if(self->queue_, [](const auto& c) { return is_final(c->status); });
      std::erase_if(self->desired_, [&](const Desired& d) {
        return !self->index_->shared->by_name.count(d.point);
      });
    }
    self->after_requeue(requeued);
    self->after_finish(done);
    self->create_adapter();
  });
}

void Device::removed(bool clear_status) {
  std::vector<Command> done;
  {
    std::lock_guard lock(mu_);
    for (auto& cmd : queue_) finish_locked(cmd, CommandStatus::Failed, "device deleted", done);
    queue_.clear();
    if (inflight_) finish_locked(inflight_, CommandStatus::Failed, "device deleted", done);
    inflight_.reset();
  }
  after_finish(done);
  // An empty retained message clears the device's status for new subscribers.
  if (clear_status && services_.bus != nullptr) {
    services_.bus->publish(status_topic_, "", 0, true);
  }
}

// --- the pipeline ------------------------------------------------------------------------------

bool Device::should_report(uint32_t index, const PointSpec& p, const Value& v, Quality q,
                           uint32_t reason) const {
  const PointState& st = points_[index];
  if (!p.report_on_change || !st.has_reported) return true;
  if (q != st.reported_quality) return true;
  // Without a value (bad, or uncertain without one) only the reason can have changed.
  if (q == Quality::Bad || v.is_null()) return reason != st.reported_reason;
  auto a = v.number();
  if (a && !v.is_bool() && st.reported_is_num) {
    const double b = st.reported_num;
    if (p.deadband > 0) return std::fabs(*a - b) > p.deadband;
    return *a != b;
  }
  // Bools and strings: what was reported is the latest (any change of them is reported).
  if (v.type() != st.kind) return true;
  switch (st.kind) {
    case Value::Type::Bool:
      return v.as_bool() != (st.latest.i != 0);
    case Value::Type::String: {
      auto it = strings_.find(index);
      return it == strings_.end() || it->second != v.as_string();
    }
    case Value::Type::Null:
      return false;
    default:
      return true;
  }
}

int64_t Device::series_locked(uint32_t index) {
  PointState& st = points_[index];
  if (st.series != -1) return st.series;
  const PointSpec& p = profile_->points[index];
  auto id =
      services_.tsdb->series(id_ + "/" + p.name, series_type(p, index_->cal(index)), "devices");
  if (!id) {
    log_warn("device history: cannot create series",
             {{"device", id_}, {"point", p.name}, {"error", id.error().message}});
    st.series = -2;
  } else {
    st.series = static_cast<int32_t>(*id);
  }
  return st.series;
}

void Device::on_readings(std::span<const Reading> readings) {
  if (readings.empty()) return;
  // Reused per thread: a loop thread serves many devices, one batch at a time.
  thread_local SampleMessage message;
  thread_local std::vector<std::string> payloads;
  thread_local std::vector<store::Sample> samples;
  // Which points the message being built holds: a point read twice in one batch starts a new
  // message (JSON keys must be unique), stamped per message so nothing is cleared per point.
  thread_local std::vector<uint64_t> in_message;
  thread_local uint64_t generation = 0;
  message.clear();
  samples.clear();
  size_t npayloads = 0;
  const int64_t now = wall_ms();
  int64_t ts_max = 0;
  ++generation;
  auto flush = [&] {
    if (message.empty()) return;
    if (npayloads == payloads.size()) payloads.emplace_back();
    message.write(id_, ts_max, payloads[npayloads++]);
    message.clear();
    ts_max = 0;
    ++generation;
  };
  uint64_t reported = 0;
  bool history = false;
  {
    std::lock_guard lock(mu_);
    history = services_.tsdb != nullptr && spec_->history;
    const auto& pts = profile_->points;
    if (in_message.size() < pts.size()) in_message.resize(pts.size(), 0);
    for (const Reading& r : readings) {
      if (r.point >= pts.size()) {
        services_.counters.bad_readings.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const PointSpec& p = pts[r.point];
      const int64_t ts = r.ts_ms != 0 ? r.ts_ms : now;
      Value v = r.quality == Quality::Bad || r.value.is_null()
                    ? Value()
                    : raw_to_engineering(r.value, index_->cal(r.point),
                                         (*index_->decimals)[r.point], p.type == DataType::Float32);
      const Quality q = v.is_null() && r.quality == Quality::Good ? Quality::Bad : r.quality;
      const uint32_t reason = intern_reason_locked(r.reason);
      const bool report = should_report(r.point, p, v, q, reason);
      PointState& st = points_[r.point];
      st.ts_ms = ts;
      st.quality = q;
      st.reason = reason;
      st.seen = true;
      if (q != Quality::Good && !r.reason.empty()) last_error_ = p.name + ": " + r.reason;
      if (report) {
        st.reported_quality = q;
        st.reported_reason = reason;
        st.has_reported = true;
        // A reading without a value keeps the last reported number for the deadband.
        if (auto n = v.number(); n && !v.is_bool()) {
          st.reported_is_num = true;
          st.reported_num = *n;
        } else if (!v.is_null()) {
          st.reported_is_num = false;
        }
      }
      // No value (a bad reading): only quality and reason change, the twin keeps the last value.
      const bool has_value = !v.is_null();
      if (!report) {
        if (has_value) set_latest_locked(r.point, std::move(v));
        continue;
      }
      ++reported;
      if (has_value || q != Quality::Good) {
        if (in_message[r.point] == generation) flush();
        in_message[r.point] = generation;
        ts_max = std::max(ts_max, ts);
        if (has_value) message.add_value(p.name, v);
        if (q != Quality::Good) message.add_quality(p.name, q, r.reason);
      }
      if (history && has_value) {
        const int64_t series = series_locked(r.point);
        if (series >= 0) {
          store::Sample s;
          s.series = static_cast<store::SeriesId>(series);
          s.ts_ms = ts;
          if (v.is_float()) {
            s.f = v.as_float();
          } else if (v.is_int()) {
            s.i = v.as_int();
            s.f = static_cast<double>(v.as_int());
          } else if (v.is_bool()) {
            s.i = v.as_bool() ? 1 : 0;
          } else if (v.is_string()) {
            s.s = r.value.as_string();  // the reading outlives this call; strings are not scaled
          }
          samples.push_back(s);
        }
      }
      if (has_value) set_latest_locked(r.point, std::move(v));
    }
    flush();
    last_seen_ms_ = now;
    if (!adapter_live_ && !online_) {
      // A push device (no adapter) is online once it sends.
      online_ = true;
      reason_.clear();
      since_ms_ = now;
      std::string topic, status;
      publish_status_locked(topic, status);
    }
  }
  auto& c = services_.counters;
  c.points.fetch_add(readings.size(), std::memory_order_relaxed);
  c.reported.fetch_add(reported, std::memory_order_relaxed);
  if (services_.bus != nullptr) {
    for (size_t i = 0; i < npayloads; ++i)
      services_.bus->publish(data_topic_, payloads[i], 0, false);
    c.messages.fetch_add(npayloads, std::memory_order_relaxed);
  }
  if (!samples.empty()) {
    // A partly accepted batch counts its rejected readings too.
    auto r = services_.tsdb->append(samples);
    const size_t accepted = r ? std::min(*r, samples.size()) : 0;
    if (accepted < samples.size()) {
      c.history_errors.fetch_add(samples.size() - accepted, std::memory_order_relaxed);
    }
  }
}

void Device::publish_status_locked(std::string& topic, std::string& payload) {
  if (services_.bus == nullptr) return;
  ValueObject o;
  o.emplace_back("device", id_);
  o.emplace_back("online", online_);
  o.emplace_back("reason", reason_);
  o.emplace_back("ts", wall_ms());
  status_published_ = true;
  topic = status_topic_;
  payload = Value(std::move(o)).to_json();
  // Under mu_ so that two changes cannot publish in the wrong order.
  services_.bus->publish(topic, payload, 0, true);
}

void Device::on_link(bool online, std::string_view reason) {
  bool now_online = false;
  {
    std::lock_guard lock(mu_);
    const bool changed = online != online_ || !status_published_;
    online_ = online;
    reason_ = std::string(reason);
    if (!online && !reason.empty()) {
      last_error_ = std::string(reason);
      ++errors_;
    }
    if (changed) {
      since_ms_ = wall_ms();
      std::string topic, payload;
      publish_status_locked(topic, payload);
      log_info(online ? "device online" : "device offline",
               {{"device", id_}, {"reason", std::string(reason)}});
    }
    now_online = online && changed;
  }
  // Posted: the adapter may call on_link from inside start() or write().
  if (now_online) {
    auto self = shared_from_this();
    loop_.post([self] { self->pump(); });
  }
}

void Device::on_poll(int64_t latency_us, uint32_t requests, uint32_t failed) {
  services_.counters.polls.fetch_add(1, std::memory_order_relaxed);
  services_.counters.poll_errors.fetch_add(failed, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  ++polls_;
  requests_ += requests;
  failed_ += failed;
  errors_ += failed;
  latency_last_us_ = latency_us;
  latency_max_us_ = std::max(latency_max_us_, latency_us);
  latency_avg_us_ =
      polls_ == 1 ? static_cast<double>(latency_us)
                  : latency_avg_us_ + (static_cast<double>(latency_us) - latency_avg_us_) / 16.0;
}

}  // namespace verge::devices
