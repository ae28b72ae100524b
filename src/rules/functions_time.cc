// Time functions. Verge has no date-time type: a time is an int of milliseconds since the Unix
// epoch (what now() returns and cast(x, "datetime") produces). Functions taking a time also
// accept a float (ms) or an RFC 3339 string. Calendar fields are in UTC.
#include <array>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

struct Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour, minute, second, ms;
  int weekday;      // 0 = Sunday
  int day_of_year;  // 1..366
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Howard Hinnant's civil_from_days.
Civil civil(int64_t ms) {
  const int64_t days = floor_div(ms, 86400000);
  int64_t rem = ms - days * 86400000;
  Civil c{};
  c.hour = static_cast<int>(rem / 3600000);
  rem %= 3600000;
  c.minute = static_cast<int>(rem / 60000);
  rem %= 60000;
  c.second = static_cast<int>(rem / 1000);
  c.ms = static_cast<int>(rem % 1000);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = static_cast<int64_t>(yoe) + era * 400 + (c.month <= 2);
  const bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
  static constexpr int kBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  c.day_of_year = kBefore[c.month - 1] + c.day + (leap && c.month > 2 ? 1 : 0);
  return c;
}

constexpr std::array<const char*, 12> kMonths = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};
constexpr std::array<const char*, 7> kDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};

bool time_arg(const Value& v, std::string_view fn, CallContext& ctx, int64_t& ms) {
  auto t = to_datetime_ms(v);
  if (!t) return type_error(ctx, fn, "a time (ms since the epoch or an RFC 3339 string)", v);
  // Keep the calendar arithmetic far from overflow: +-10^15 ms is about 31,000 years.
  if (*t < -1000000000000000 || *t > 1000000000000000) return fail(ctx, fn, "time out of range");
  ms = *t;
  return true;
}

void append_num(std::string& out, int64_t v, int width) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0) out += '-';
  for (int i = static_cast<int>(digits.size()); i < width; ++i) out += '0';
  out += digits;
}

// eKuiper's layout letters (Java style): yyyy YYYY yy M MM MMM MMMM d dd E EEE EEEE H HH h hh
// a m mm s ss S.. (fraction digits) Z z; text in single quotes is literal, '' is a quote.
std::string format(const Civil& c, std::string_view layout) {
  std::string out;
  size_t i = 0;
  while (i < layout.size()) {
    const char ch = layout[i];
    size_t n = 1;
    while (i + n < layout.size() && layout[i + n] == ch) ++n;
    switch (ch) {
      case 'y':
      case 'Y':
        if (n == 2) {
          append_num(out, ((c.year % 100) + 100) % 100, 2);
        } else {
          append_num(out, c.year, static_cast<int>(n));
        }
        break;
      case 'M':
        if (n >= 4) {
          out += kMonths[static_cast<size_t>(c.month - 1)];
        } else if (n == 3) {
          out.append(kMonths[static_cast<size_t>(c.month - 1)], 3);
        } else {
          append_num(out, c.month, static_cast<int>(n));
        }
        break;
      case 'd':
        append_num(out, c.day, static_cast<int>(n));
        break;
      case 'E':
        if (n >= 4) {
          out += kDays[static_cast<size_t>(c.weekday)];
        } else {
          out.append(kDays[static_cast<size_t>(c.weekday)], 3);
        }
        break;
      case 'H':
        append_num(out, c.hour, static_cast<int>(n));
        break;
      case 'h':
        append_num(out, c.hour % 12 == 0 ? 12 : c.hour % 12, static_cast<int>(n));
        break;
      case 'a':
        out += c.hour < 12 ? "AM" : "PM";
        break;
      case 'm':
        append_num(out, c.minute, static_cast<int>(n));
        break;
      case 's':
        append_num(out, c.second, static_cast<int>(n));
        break;
      case 'S': {
        // Fraction of a second: the first n digits of the milliseconds, zeros past them.
        std::string frac;
        append_num(frac, c.ms, 3);
        frac.resize(std::max<size_t>(n, 3), '0');
        out.append(frac, 0, n);
        break;
      }
      case 'Z':
        out += "+0000";
        break;
      case 'z':
        out += "UTC";
        break;
      case '\'': {
        // Quoted literal; '' inside (or alone) is a single quote.
        size_t j = i + 1;
        if (j < layout.size() && layout[j] == '\'') {
          out += '\'';
          n = 2;
          break;
        }
        while (j < layout.size()) {
          if (layout[j] == '\'') {
            if (j + 1 < layout.size() && layout[j + 1] == '\'') {
              out += '\'';
              j += 2;
              continue;
            }
            break;
          }
          out += layout[j++];
        }
        n = std::min(j + 1, layout.size()) - i;
        break;
      }
      default:
        out.append(n, ch);
    }
    i += n;
  }
  return out;
}

bool f_now(Args, CallContext& ctx, Value& out) {
  out = Value(ctx.now_ms);
  return true;
}

bool f_format_time(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) {
    out = Value();
    return true;
  }
  int64_t ms = 0;
  if (!time_arg(a[0], "format_time", ctx, ms)) return false;
  if (!a[1].is_string()) return type_error(ctx, "format_time", "a layout string", a[1]);
  if (a[1].as_string().size() > 256) return fail(ctx, "format_time", "layout too long");
  out = Value(format(civil(ms), a[1].as_string()));
  return true;
}

template <class F>
bool field(Args a, CallContext& ctx, Value& out, std::string_view fn, F f) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  int64_t ms = 0;
  if (!time_arg(a[0], fn, ctx, ms)) return false;
  out = f(civil(ms));
  return true;
}

#define VERGE_FIELD(NAME, EXPR)                                                \
  ScalarFunction {                                                             \
    NAME, 1, 1, [](Args a, CallContext& c, Value& o) {                         \
      return field(a, c, o, NAME, [](const Civil& t) { return Value(EXPR); }); \
    }                                                                          \
  }

bool f_from_unix_time(Args a, CallContext& ctx, Value& out) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  auto s = a[0].number();
  if (!s) return type_error(ctx, "from_unix_time", "a number of seconds", a[0]);
  const double ms = *s * 1000.0;
  if (!(ms > -9.2e18 && ms < 9.2e18)) return fail(ctx, "from_unix_time", "time out of range");
  out = Value(static_cast<int64_t>(ms));
  return true;
}

const ScalarFunction kTime[] = {
    {"now", 0, 0, f_now, true},
    {"tstamp", 0, 0, f_now, true},
    {"format_time", 2, 2, f_format_time},
    {"from_unix_time", 1, 1, f_from_unix_time},
    VERGE_FIELD("year", t.year),
    VERGE_FIELD("month", int64_t{t.month}),
    VERGE_FIELD("day", int64_t{t.day}),
    VERGE_FIELD("day_of_month", int64_t{t.day}),
    VERGE_FIELD("hour", int64_t{t.hour}),
    VERGE_FIELD("minute", int64_t{t.minute}),
    VERGE_FIELD("second", int64_t{t.second}),
    VERGE_FIELD("day_of_week", int64_t{t.weekday + 1}),  // 1 = Sunday, as MySQL and eKuiper
    VERGE_FIELD("day_of_year", int64_t{t.day_of_year}),
    VERGE_FIELD("day_name", kDays[static_cast<size_t>(t.weekday)]),
    VERGE_FIELD("month_name", kMonths[static_cast<size_t>(t.month - 1)]),
};

#undef VERGE_FIELD

}  // namespace

std::span<const ScalarFunction> time_functions() { return kTime; }

}  // namespace verge::rules::fn
