// Device: the JSON documents the REST API shows (status, twin, commands).
#include "devices/device.h"

namespace verge::devices {

Value Device::status_json() const {
  std::lock_guard lock(mu_);
  ValueObject o;
  o.emplace_back("online", online_);
  o.emplace_back("reason", reason_);
  o.emplace_back("since_ms", since_ms_);
  o.emplace_back("last_seen_ms", last_seen_ms_);
  o.emplace_back("polls", static_cast<int64_t>(polls_));
  o.emplace_back("requests", static_cast<int64_t>(requests_));
  o.emplace_back("failed", static_cast<int64_t>(failed_));
  o.emplace_back("errors", static_cast<int64_t>(errors_));
  o.emplace_back("last_error", last_error_);
  ValueObject latency;
  latency.emplace_back("last", latency_last_us_);
  latency.emplace_back("max", latency_max_us_);
  latency.emplace_back("avg", latency_avg_us_);
  o.emplace_back("poll_latency_us", std::move(latency));
  o.emplace_back("queued_commands",
                 static_cast<int64_t>(queue_.size() + (inflight_ != nullptr ? 1 : 0)));
  return o;
}

Value Device::twin_json() const {
  std::lock_guard lock(mu_);
  ValueObject reported;
  const auto& pts = profile_->points;
  for (size_t i = 0; i < pts.size(); ++i) {
    const PointState& st = points_[i];
    if (!st.seen) continue;
    ValueObject p;
    p.emplace_back("value", latest_locked(static_cast<uint32_t>(i)));
    p.emplace_back("ts", st.ts_ms);
    p.emplace_back("quality", quality_name(st.quality));
    if (st.reason != 0) p.emplace_back("reason", reasons_[st.reason]);
    reported.emplace_back(pts[i].name, std::move(p));
  }
  ValueObject desired;
  for (const auto& d : desired_) {
    ValueObject p;
    p.emplace_back("value", d.value);
    p.emplace_back("command", d.command);
    p.emplace_back("status", command_status_name(d.status));
    if (!d.error.empty()) p.emplace_back("error", d.error);
    p.emplace_back("updated_ms", d.updated_ms);
    desired.emplace_back(d.point, std::move(p));
  }
  ValueObject o;
  o.emplace_back("device", id_);
  o.emplace_back("online", online_);
  o.emplace_back("reported", std::move(reported));
  o.emplace_back("desired", std::move(desired));
  return o;
}

Value Device::commands_json() const {
  std::lock_guard lock(mu_);
  ValueArray pending;
  if (inflight_) pending.push_back(inflight_->to_value());
  for (const auto& c : queue_) pending.push_back(c->to_value());
  ValueArray recent;
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) recent.push_back((*it)->to_value());
  ValueObject o;
  o.emplace_back("device", id_);
  o.emplace_back("pending", std::move(pending));
  o.emplace_back("recent", std::move(recent));
  return o;
}

}  // namespace verge::devices
