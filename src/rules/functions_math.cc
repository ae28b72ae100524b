// Math functions. Ints stay ints where the result is exact (abs, sign, mod, ceil, floor, round
// and trunc of an int, the bit operations); everything else computes in double. A result that
// is not a finite number (sqrt(-1), ln(0), acos(2), overflow) is null, not an error: it is a
// property of the data, not of the rule.
#include <cmath>
#include <limits>
#include <numbers>
#include <random>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

// Sets out to d, or to null when d is not finite.
bool finite_or_null(double d, Value& out) {
  out = std::isfinite(d) ? Value(d) : Value();
  return true;
}

bool number_arg(const Value& v, std::string_view name, CallContext& ctx, double& d) {
  if (v.is_int()) {
    d = static_cast<double>(v.as_int());
    return true;
  }
  if (v.is_float()) {
    d = v.as_float();
    return true;
  }
  return type_error(ctx, name, "a number", v);
}

template <class F>
bool unary(Args a, CallContext& ctx, Value& out, std::string_view name, F f) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  double x = 0;
  if (!number_arg(a[0], name, ctx, x)) return false;
  return finite_or_null(f(x), out);
}

template <class F>
bool binary(Args a, CallContext& ctx, Value& out, std::string_view name, F f) {
  if (any_null(a)) {
    out = Value();
    return true;
  }
  double x = 0;
  double y = 0;
  if (!number_arg(a[0], name, ctx, x) || !number_arg(a[1], name, ctx, y)) return false;
  return finite_or_null(f(x, y), out);
}

#define VERGE_UNARY(NAME, EXPR)                                     \
  ScalarFunction {                                                  \
    NAME, 1, 1, [](Args a, CallContext& c, Value& o) {              \
      return unary(a, c, o, NAME, [](double x) { return (EXPR); }); \
    }                                                               \
  }

bool f_abs(Args a, CallContext& ctx, Value& out) {
  const Value& x = a[0];
  if (x.is_int()) {
    const int64_t i = x.as_int();
    if (i == std::numeric_limits<int64_t>::min()) {
      out = Value(-static_cast<double>(i));  // |INT64_MIN| does not fit an int64
    } else {
      out = Value(i < 0 ? -i : i);
    }
    return true;
  }
  return unary(a, ctx, out, "abs", [](double d) { return std::fabs(d); });
}

bool f_sign(Args a, CallContext& ctx, Value& out) {
  const Value& x = a[0];
  if (x.is_null()) {
    out = Value();
    return true;
  }
  double d = 0;
  if (!number_arg(x, "sign", ctx, d)) return false;
  if (std::isnan(d)) {
    out = Value();
  } else {
    out = Value(int64_t{d > 0 ? 1 : (d < 0 ? -1 : 0)});
  }
  return true;
}

// ceil, floor, round and trunc share this: an int is already whole (digits >= 0 keep it as it
// is); a float is rounded by `f` at `digits` decimal places and stays a float.
template <class F>
bool rounding(Args a, CallContext& ctx, Value& out, std::string_view name, F f) {
  if (any_null(a)) {
    out = Value();
    return true;
  }
  int64_t digits = 0;
  if (a.size() > 1) {
    auto d = integral(a[1]);
    if (!d) return type_error(ctx, name, "an integer number of digits", a[1]);
    if (*d < -18 || *d > 18) return fail(ctx, name, "digits must be between -18 and 18");
    digits = *d;
  }
  const Value& x = a[0];
  if (x.is_int() && digits >= 0) {
    out = x;
    return true;
  }
  double d = 0;
  if (!number_arg(x, name, ctx, d)) return false;
  if (digits == 0) return finite_or_null(f(d), out);
  const double scale = std::pow(10.0, static_cast<double>(digits));
  const double r = f(d * scale) / scale;
  if (x.is_int()) {
    // round(1234, -2) = 1200: whole again, and back in int range since |r| <= |x| + 10^18.
    if (std::isfinite(r) && std::fabs(r) < 9.2e18) {
      out = Value(static_cast<int64_t>(r));
      return true;
    }
    out = Value();
    return true;
  }
  return finite_or_null(r, out);
}

bool f_mod(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) {
    out = Value();
    return true;
  }
  if (a[0].is_int() && a[1].is_int()) {
    const int64_t x = a[0].as_int();
    const int64_t y = a[1].as_int();
    if (y == 0) {
      out = Value();
    } else if (y == -1) {
      out = Value(int64_t{0});  // INT64_MIN % -1 overflows in C++
    } else {
      out = Value(x % y);
    }
    return true;
  }
  return binary(a, ctx, out, "mod", [](double x, double y) { return std::fmod(x, y); });
}

template <class Op>
bool bitwise(Args a, CallContext& ctx, Value& out, std::string_view name, Op op) {
  if (any_null(a)) {
    out = Value();
    return true;
  }
  auto x = integral(a[0]);
  if (!x) return type_error(ctx, name, "an integer", a[0]);
  auto y = integral(a[1]);
  if (!y) return type_error(ctx, name, "an integer", a[1]);
  out = Value(static_cast<int64_t>(op(static_cast<uint64_t>(*x), static_cast<uint64_t>(*y))));
  return true;
}

bool f_bitnot(Args a, CallContext& ctx, Value& out) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  auto x = integral(a[0]);
  if (!x) return type_error(ctx, "bitnot", "an integer", a[0]);
  out = Value(~*x);
  return true;
}

bool f_log(Args a, CallContext& ctx, Value& out) {
  if (a.size() == 1) return unary(a, ctx, out, "log", [](double x) { return std::log10(x); });
  // log(base, x)
  return binary(a, ctx, out, "log", [](double b, double x) {
    if (b <= 0 || b == 1) return std::numeric_limits<double>::quiet_NaN();
    return std::log(x) / std::log(b);
  });
}

bool f_pi(Args, CallContext&, Value& out) {
  out = Value(std::numbers::pi);
  return true;
}

bool f_rand(Args, CallContext&, Value& out) {
  // One generator per thread: rules run on their own threads and must not contend here.
  thread_local std::mt19937_64 gen{std::random_device{}()};
  out = Value(std::uniform_real_distribution<double>(0.0, 1.0)(gen));
  return true;
}

bool f_ceil(Args a, CallContext& c, Value& o) {
  return rounding(a, c, o, "ceil", [](double x) { return std::ceil(x); });
}
bool f_ceiling(Args a, CallContext& c, Value& o) {
  return rounding(a, c, o, "ceiling", [](double x) { return std::ceil(x); });
}
bool f_floor(Args a, CallContext& c, Value& o) {
  return rounding(a, c, o, "floor", [](double x) { return std::floor(x); });
}
bool f_round(Args a, CallContext& c, Value& o) {
  return rounding(a, c, o, "round", [](double x) { return std::round(x); });
}
bool f_trunc(Args a, CallContext& c, Value& o) {
  return rounding(a, c, o, "trunc", [](double x) { return std::trunc(x); });
}
bool f_power(Args a, CallContext& c, Value& o) {
  return binary(a, c, o, "power", [](double x, double y) { return std::pow(x, y); });
}
bool f_pow(Args a, CallContext& c, Value& o) {
  return binary(a, c, o, "pow", [](double x, double y) { return std::pow(x, y); });
}
bool f_atan2(Args a, CallContext& c, Value& o) {
  return binary(a, c, o, "atan2", [](double y, double x) { return std::atan2(y, x); });
}
bool f_bitand(Args a, CallContext& c, Value& o) {
  return bitwise(a, c, o, "bitand", [](uint64_t x, uint64_t y) { return x & y; });
}
bool f_bitor(Args a, CallContext& c, Value& o) {
  return bitwise(a, c, o, "bitor", [](uint64_t x, uint64_t y) { return x | y; });
}
bool f_bitxor(Args a, CallContext& c, Value& o) {
  return bitwise(a, c, o, "bitxor", [](uint64_t x, uint64_t y) { return x ^ y; });
}

const ScalarFunction kMath[] = {
    {"abs", 1, 1, f_abs},
    VERGE_UNARY("acos", std::acos(x)),
    VERGE_UNARY("asin", std::asin(x)),
    VERGE_UNARY("atan", std::atan(x)),
    {"atan2", 2, 2, f_atan2},
    {"bitand", 2, 2, f_bitand},
    {"bitor", 2, 2, f_bitor},
    {"bitxor", 2, 2, f_bitxor},
    {"bitnot", 1, 1, f_bitnot},
    {"ceil", 1, 2, f_ceil},
    {"ceiling", 1, 2, f_ceiling},
    VERGE_UNARY("cos", std::cos(x)),
    VERGE_UNARY("cosh", std::cosh(x)),
    VERGE_UNARY("cot", 1.0 / std::tan(x)),
    VERGE_UNARY("degrees", x * 180.0 / std::numbers::pi),
    VERGE_UNARY("exp", std::exp(x)),
    {"floor", 1, 2, f_floor},
    VERGE_UNARY("ln", std::log(x)),
    {"log", 1, 2, f_log},
    {"mod", 2, 2, f_mod},
    {"pi", 0, 0, f_pi},
    {"power", 2, 2, f_power},
    {"pow", 2, 2, f_pow},
    VERGE_UNARY("radians", x* std::numbers::pi / 180.0),
    {"rand", 0, 0, f_rand, true},  // not folded as a constant: a new number per call
    {"round", 1, 2, f_round},
    {"sign", 1, 1, f_sign},
    VERGE_UNARY("sin", std::sin(x)),
    VERGE_UNARY("sinh", std::sinh(x)),
    VERGE_UNARY("sqrt", std::sqrt(x)),
    VERGE_UNARY("tan", std::tan(x)),
    VERGE_UNARY("tanh", std::tanh(x)),
    {"trunc", 1, 2, f_trunc},
};

#undef VERGE_UNARY

}  // namespace

std::span<const ScalarFunction> math_functions() { return kMath; }

}  // namespace verge::rules::fn
