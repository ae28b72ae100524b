#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>

#include "core/json.h"

namespace verge {
namespace {

std::atomic<uint8_t> g_level{static_cast<uint8_t>(LogLevel::Info)};

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u == 0x7f) return true;
  }
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (needs_quotes(v)) {
    append_json_string(out, v);
  } else {
    out += v;
  }
}

void append_timestamp(std::string& out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                        ts.tv_nsec / 1000000L);
  if (n > 0) out.append(buf, static_cast<size_t>(n));
}

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a failing stderr
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "trace") return LogLevel::Trace;
  if (s == "debug") return LogLevel::Debug;
  if (s == "info") return LogLevel::Info;
  if (s == "warn" || s == "warning") return LogLevel::Warn;
  if (s == "error") return LogLevel::Error;
  if (s == "off") return LogLevel::Off;
  return std::nullopt;
}

const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Trace:
      return "trace";
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
    case LogLevel::Off:
      return "off";
  }
  return "unknown";
}

void set_log_level(LogLevel l) {
  g_level.store(static_cast<uint8_t>(l), std::memory_order_relaxed);
}

bool log_enabled(LogLevel l) {
  return l != LogLevel::Off && static_cast<uint8_t>(l) >= g_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!log_enabled(level)) return;
  std::string line;
  line.reserve(128 + msg.size());
  line += "ts=";
  append_timestamp(line);
  line += " level=";
  line += log_level_name(level);
  line += " msg=";
  append_json_string(line, msg);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    append_value(line, f.value);
  }
  line += '\n';
  write_all(STDERR_FILENO, line.data(), line.size());
}

}  // namespace verge
