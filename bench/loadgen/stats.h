// Clocks, process statistics (/proc, getrusage) and latency percentiles for verge_loadgen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loadgen {

// CLOCK_MONOTONIC in nanoseconds (the timestamp carried in payloads).
uint64_t now_ns();

// Resident set size (VmRSS) of `pid` in bytes, 0 if unreadable.
uint64_t rss_bytes(int pid);

// user+system CPU time of `pid` in seconds (from /proc/<pid>/stat), or of this process if pid == 0.
double cpu_seconds(int pid);

// Latency samples in nanoseconds; storage is reserved up front so recording never allocates
// until `capacity` samples (then every other sample is dropped, keeping the distribution).
class Latencies {
 public:
  explicit Latencies(size_t capacity) { samples_.reserve(capacity); }
  void record(uint64_t ns) {
    if (++seen_ % stride_ != 0) return;
    if (samples_.size() == samples_.capacity()) {
      stride_ *= 2;
      return;
    }
    samples_.push_back(ns);
  }
  size_t count() const { return samples_.size(); }
  // Percentile in microseconds (p in 0..100); sorts on first call.
  double percentile_us(double p);

 private:
  std::vector<uint64_t> samples_;
  uint64_t seen_ = 0;
  uint64_t stride_ = 1;
  bool sorted_ = false;
};

}  // namespace loadgen
