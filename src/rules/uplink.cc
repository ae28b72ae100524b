#include "rules/uplink.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/log.h"

namespace verge::rules {

namespace {

Result<void> check_name(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  if (ok) return {};
  return unexpected(Error{"uplink stream name '" + std::string(name) +
                          "' must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"});
}

}  // namespace

UplinkStreams::UplinkStreams(UplinkOptions options) : options_(std::move(options)) {}

UplinkStreams::~UplinkStreams() = default;  // each log flushes and syncs on destruction

Result<store::SegmentLog*> UplinkStreams::log(std::string_view stream) {
  if (auto r = check_name(stream); !r) return unexpected(r.error());
  std::lock_guard lock(mutex_);
  if (auto it = logs_.find(stream); it != logs_.end()) return it->second.get();
  if (options_.dir.empty()) return unexpected(Error{"uplink: no directory configured"});
  store::LogOptions lo;
  lo.durability = options_.sync_each_batch ? store::Durability::Batch : store::Durability::Interval;
  lo.max_bytes = options_.max_bytes_per_stream;
  lo.max_age_ms = static_cast<uint64_t>(std::max<int64_t>(options_.max_age_ms, 0));
  // The uplink buffers the recent past for a hub that is away: when full, the oldest records go
  // (counted by the log as dropped) rather than the newest results.
  lo.drop_policy = store::DropPolicy::DropOldest;
  lo.delete_consumed = true;  // a queue: what the hub acknowledged is deleted
  const std::string dir = options_.dir + "/" + std::string(stream);
  auto opened = store::SegmentLog::open(dir, std::move(lo));
  if (!opened) {
    return unexpected(
        Error{"uplink stream " + std::string(stream) + ": " + opened.error().message});
  }
  store::SegmentLog* raw = opened->get();
  logs_.emplace(std::string(stream), std::move(*opened));
  log_info("uplink stream opened", {{"stream", stream}, {"dir", dir}});
  return raw;
}

void UplinkStreams::append(std::string_view stream, std::string_view record, int64_t now_ms,
                           std::function<void(Result<void>)> done) {
  auto log = this->log(stream);
  if (!log) {
    if (done) done(unexpected(log.error()));
    return;
  }
  std::string_view one[] = {record};
  auto appended = (*log)->append(one, now_ms, [done](const store::AppendResult& r) {
    if (!done) return;
    if (r.error) {
      done(unexpected(Error{r.error->message}));
    } else {
      done(Result<void>{});
    }
  });
  if (!appended && done) done(unexpected(appended.error()));
}

std::vector<std::string> UplinkStreams::names() const {
  std::set<std::string> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, log] : logs_) out.insert(name);
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it(options_.dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory(ec) && check_name(name)) out.insert(std::move(name));
  }
  return {out.begin(), out.end()};
}

}  // namespace verge::rules
