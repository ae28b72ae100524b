// Structured logging: one line per event in logfmt on stderr, e.g.
//   ts=2026-11-21T06:00:00.123Z level=info msg="listening" listener=mqtt addr=127.0.0.1:41234
// Thread-safe: each line is written with a single write(2).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace verge {

enum class LogLevel : uint8_t { Trace, Debug, Info, Warn, Error, Off };

std::optional<LogLevel> parse_log_level(std::string_view s);  // "trace".."error", "off"
const char* log_level_name(LogLevel l);

void set_log_level(LogLevel l);
bool log_enabled(LogLevel l);

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <class N>
  requires(std::is_arithmetic_v<N> && !std::is_same_v<N, bool>) LogField(std::string_view k, N v)
      : key(k), value(std::to_string(v)) {}
};

void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

inline void log_info(std::string_view msg, std::initializer_list<LogField> f = {}) {
  log(LogLevel::Info, msg, f);
}
inline void log_warn(std::string_view msg, std::initializer_list<LogField> f = {}) {
  log(LogLevel::Warn, msg, f);
}
inline void log_error(std::string_view msg, std::initializer_list<LogField> f = {}) {
  log(LogLevel::Error, msg, f);
}
inline void log_debug(std::string_view msg, std::initializer_list<LogField> f = {}) {
  if (log_enabled(LogLevel::Debug)) log(LogLevel::Debug, msg, f);
}

}  // namespace verge
