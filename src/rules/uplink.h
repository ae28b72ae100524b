// Named uplink streams: rule results waiting to go up to the hub. Each stream is a segment log
// under `<dir>/<name>/`; the rule action appends, the cloud-sync layer (issue 6) reads with a
// durable cursor and deletes what the hub acknowledged. Stream names are [A-Za-z0-9_-]{1,64}.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/segment_log.h"

namespace verge::rules {

struct UplinkOptions {
  std::string dir;  // <data-dir>/uplink
  uint64_t max_bytes_per_stream = 1ull << 30;
  int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  bool sync_each_batch = true;  // durability batch (fsync before done) vs interval
};

class UplinkStreams {
 public:
  explicit UplinkStreams(UplinkOptions options);
  ~UplinkStreams();

  // Appends one record (JSON text) to `stream`, opening the stream on first use. `done` runs on
  // the log's writer thread once the record is durable, or with the error; when the append is
  // refused at once (bad name, a stream that cannot be opened, a refused record) `done` runs on
  // the calling thread before append() returns.
  void append(std::string_view stream, std::string_view record, int64_t now_ms,
              std::function<void(Result<void>)> done);

  // The stream's log (opened on demand), for the uplink reader; an error for a bad name.
  Result<store::SegmentLog*> log(std::string_view stream);
  // Streams opened so far and those found under options.dir (from earlier runs).
  std::vector<std::string> names() const;

 private:
  UplinkOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<store::SegmentLog>, std::less<>> logs_;
};

}  // namespace verge::rules
