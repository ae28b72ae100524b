#include "devices/device.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/log.h"
#include "devices/device_store.h"
#include "devices/point_value.h"
#include "devices/sample_json.h"
#include "net/event_loop.h"
#include "rules/bus.h"
#include "store/tsdb.h"

namespace verge::devices {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

void Device::configure_locked() {
  const auto& pts = profile_->points;
  calibration_.assign(pts.size(), Calibration{});
  for (size_t i = 0; i < pts.size(); ++i) {
    calibration_[i] = Calibration{pts[i].scale, pts[i].offset};
    for (const auto& [name, cal] : spec_->calibration) {
      if (name == pts[i].name) calibration_[i] = cal;
    }
  }
  points_.assign(pts.size(), PointState{});
  auto index = std::make_shared<PointIndex>();
  index->profile = profile_;
  index->spec = spec_;
  index->calibration = calibration_;
  for (size_t i = 0; i < pts.size(); ++i) {
    index->by_name.emplace(pts[i].name, static_cast<uint32_t>(i));
  }
  index_ = std::move(index);
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
    adapter_live_ = false;  // first: nothing new is dispatched to a stopping adapter
  }
  std::unique_ptr<Adapter> adapter;
  {
    std::lock_guard life(life_mu_);
    stopped_ = true;
    adapter = std::move(adapter_);
    if (adapter) adapter->stop();
  }
  adapter.reset();
}

void Device::replace(const AdapterFactory& factory, std::shared_ptr<const DeviceSpec> spec,
                     std::shared_ptr<const Profile> profile) {
  auto self = shared_from_this();
  loop_.post([self, &factory, spec = std::move(spec), profile = std::move(profile)] {
    std::vector<std::shared_ptr<Command>> done;
    std::lock_guard life(self->life_mu_);
    if (self->stopped_) return;
    if (self->adapter_) self->adapter_->stop();
    self->adapter_.reset();
    {
      std::lock_guard lock(self->mu_);
      self->adapter_live_ = false;
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
      std::erase_if(self->desired_,
                    [&](const Desired& d) { return !self->index_->by_name.count(d.point); });
    }
    self->after_finish(done);
    self->create_adapter();
  });
}

void Device::removed() {
  std::vector<std::shared_ptr<Command>> done;
  {
    std::lock_guard lock(mu_);
    for (auto& cmd : queue_) finish_locked(cmd, CommandStatus::Failed, "device deleted", done);
    queue_.clear();
    if (inflight_) finish_locked(inflight_, CommandStatus::Failed, "device deleted", done);
    inflight_.reset();
  }
  after_finish(done);
  // An empty retained message clears the device's status for new subscribers.
  if (services_.bus != nullptr) services_.bus->publish(status_topic_, "", 0, true);
}

// --- the pipeline ------------------------------------------------------------------------------

bool Device::should_report(const PointSpec& p, const PointState& st, const Value& v, Quality q,
                           std::string_view reason) const {
  if (!p.report_on_change || !st.has_reported) return true;
  if (q != st.reported_quality) return true;
  if (q == Quality::Bad) return reason != st.reported_reason;
  auto a = v.number();
  auto b = st.reported.number();
  if (a && b && !v.is_bool()) {
    if (p.deadband > 0) return std::fabs(*a - *b) > p.deadband;
    return *a != *b;
  }
  return !(v == st.reported) || v.type() != st.reported.type();
}

int64_t Device::series_locked(uint32_t index) {
  PointState& st = points_[index];
  if (st.series != -1) return st.series;
  const PointSpec& p = profile_->points[index];
  auto id =
      services_.tsdb->series(id_ + "/" + p.name, series_type(p, calibration_[index]), "devices");
  if (!id) {
    log_warn("device history: cannot create series",
             {{"device", id_}, {"point", p.name}, {"error", id.error().message}});
    st.series = -2;
  } else {
    st.series = *id;
  }
  return st.series;
}

void Device::on_readings(std::span<const Reading> readings) {
  if (readings.empty()) return;
  // Reused per thread: a loop thread serves many devices, one batch at a time.
  thread_local SampleMessage message;
  thread_local std::string payload;
  thread_local std::vector<store::Sample> samples;
  message.clear();
  samples.clear();
  const int64_t now = wall_ms();
  int64_t ts_max = 0;
  uint64_t reported = 0;
  bool history = false;
  {
    std::lock_guard lock(mu_);
    history = services_.tsdb != nullptr && spec_->history;
    const auto& pts = profile_->points;
    for (const Reading& r : readings) {
      if (r.point >= pts.size()) {
        services_.counters.bad_readings.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const PointSpec& p = pts[r.point];
      PointState& st = points_[r.point];
      const int64_t ts = r.ts_ms != 0 ? r.ts_ms : now;
      Value v = r.quality == Quality::Bad || r.value.is_null()
                    ? Value()
                    : raw_to_engineering(r.value, calibration_[r.point]);
      const Quality q = v.is_null() && r.quality == Quality::Good ? Quality::Bad : r.quality;
      const bool report = should_report(p, st, v, q, r.reason);
      st.value = v;
      st.ts_ms = ts;
      st.quality = q;
      st.reason = r.reason;
      st.seen = true;
      if (q != Quality::Good && !r.reason.empty()) last_error_ = p.name + ": " + r.reason;
      if (!report) continue;
      ++reported;
      ts_max = std::max(ts_max, ts);
      if (q != Quality::Bad) message.add_value(p.name, v);
      if (q != Quality::Good) message.add_quality(p.name, q, r.reason);
      st.reported = std::move(v);
      st.reported_quality = q;
      st.reported_reason = r.reason;
      st.has_reported = true;
      if (history && q != Quality::Bad) {
        const int64_t series = series_locked(r.point);
        if (series < 0) continue;
        store::Sample s;
        s.series = static_cast<store::SeriesId>(series);
        s.ts_ms = ts;
        const Value& cv = st.reported;
        if (cv.is_float()) {
          s.f = cv.as_float();
        } else if (cv.is_int()) {
          s.i = cv.as_int();
          s.f = static_cast<double>(cv.as_int());
        } else if (cv.is_bool()) {
          s.i = cv.as_bool() ? 1 : 0;
        } else if (cv.is_string()) {
          s.s = r.value.as_string();  // the reading outlives this call; strings are not scaled
        }
        samples.push_back(s);
      }
    }
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
  if (!message.empty() && services_.bus != nullptr) {
    message.write(id_, ts_max, payload);
    services_.bus->publish(data_topic_, payload, 0, false);
    c.messages.fetch_add(1, std::memory_order_relaxed);
  }
  if (!samples.empty()) {
    if (auto r = services_.tsdb->append(samples); !r) {
      c.history_errors.fetch_add(samples.size(), std::memory_order_relaxed);
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
