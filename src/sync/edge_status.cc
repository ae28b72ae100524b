#include "sync/edge_status.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "core/file.h"

namespace verge::sync {

namespace {

uint64_t steady_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// utime + stime of this process in clock ticks (fields 14 and 15 of /proc/self/stat; the
// command name in field 2 may hold spaces, so fields are counted after its closing ')').
uint64_t cpu_ticks() {
  auto text = read_text_file("/proc/self/stat", "process stat", 64 * 1024);
  if (!text) return 0;
  const auto close = text->rfind(')');
  if (close == std::string::npos) return 0;
  unsigned long long utime = 0, stime = 0;
  // After ')': state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8) flags(9) minflt(10)
  // cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15).
  if (std::sscanf(text->c_str() + close + 1,
                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return 0;
  }
  return utime + stime;
}

uint64_t rss_bytes() {
  auto text = read_text_file("/proc/self/statm", "process memory", 4096);
  if (!text) return 0;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(text->c_str(), "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

ProcessSampler::ProcessSampler(std::string data_dir) : data_dir_(std::move(data_dir)) {}

Value ProcessSampler::sample() {
  const uint64_t ticks = cpu_ticks();
  const uint64_t now = steady_ms();
  double cpu = 0;
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (last_ms_ != 0 && now > last_ms_ && ticks >= last_cpu_ticks_ && hz > 0) {
    const double cpu_s = static_cast<double>(ticks - last_cpu_ticks_) / static_cast<double>(hz);
    cpu = 100.0 * cpu_s * 1000.0 / static_cast<double>(now - last_ms_);
  }
  last_cpu_ticks_ = ticks;
  last_ms_ = now;
  uint64_t total = 0, free = 0;
  struct statvfs vfs {};
  if (::statvfs(data_dir_.c_str(), &vfs) == 0) {
    total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  return Value(ValueObject{
      {"cpu_percent", cpu},
      {"rss_bytes", static_cast<int64_t>(rss_bytes())},
      {"disk", Value(ValueObject{{"path", data_dir_},
                                 {"total_bytes", static_cast<int64_t>(total)},
                                 {"free_bytes", static_cast<int64_t>(free)}})},
  });
}

}  // namespace verge::sync
