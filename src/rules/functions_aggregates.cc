// Aggregates. Null inputs are skipped; over no (non-null) input count is 0, the collections
// (collect, deduplicate, merge_agg) are empty, and everything else is null. Memory: count, sum,
// avg, min, max, the variances (Welford's update) and first/last are O(1); median and the
// percentiles keep every value (bounded by the engine's window limits), as do the collections.
#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <vector>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

bool number_arg(const Value& v, std::string_view fn, CallContext& ctx, double& d) {
  if (v.is_int()) {
    d = static_cast<double>(v.as_int());
    return true;
  }
  if (v.is_float()) {
    d = v.as_float();
    return true;
  }
  return type_error(ctx, fn, "a number", v);
}

// count(*) arrives with no arguments and counts rows; count(x) counts non-null x.
class Count final : public Accumulator {
 public:
  bool add(Args a, CallContext&) override {
    if (a.empty() || !a[0].is_null()) ++n_;
    return true;
  }
  Value result() const override { return Value(n_); }

 private:
  int64_t n_ = 0;
};

// An int while every input is an int and the total fits; a float from then on.
class Sum final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    const Value& v = a[0];
    if (v.is_null()) return true;
    seen_ = true;
    if (v.is_int() && is_int_) {
      int64_t r = 0;
      if (!__builtin_add_overflow(i_, v.as_int(), &r)) {
        i_ = r;
        return true;
      }
      is_int_ = false;
      f_ = static_cast<double>(i_);
    }
    double d = 0;
    if (!number_arg(v, "sum", ctx, d)) return false;
    if (is_int_) {
      is_int_ = false;
      f_ = static_cast<double>(i_);
    }
    f_ += d;
    return true;
  }
  Value result() const override {
    if (!seen_) return Value();
    return is_int_ ? Value(i_) : Value(f_);
  }

 private:
  bool seen_ = false;
  bool is_int_ = true;
  int64_t i_ = 0;
  double f_ = 0;
};

// Always a float: avg(1, 2) is 1.5.
class Avg final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    if (a[0].is_null()) return true;
    double d = 0;
    if (!number_arg(a[0], "avg", ctx, d)) return false;
    ++n_;
    mean_ += (d - mean_) / static_cast<double>(n_);  // running mean: no overflow of a sum
    return true;
  }
  Value result() const override { return n_ == 0 ? Value() : Value(mean_); }

 private:
  int64_t n_ = 0;
  double mean_ = 0;
};

// min/max over numbers, strings or bools (one kind per group; mixing them is an error).
template <int Sign>
class Extreme final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    const Value& v = a[0];
    if (v.is_null()) return true;
    const std::string_view name = Sign < 0 ? "min" : "max";
    if (v.is_array() || v.is_object()) return type_error(ctx, name, "a number or string", v);
    if (best_.is_null()) {
      best_ = v;
      return true;
    }
    auto c = compare_values(v, best_);
    if (!c) {
      if (v.is_float() && std::isnan(v.as_float())) return true;  // NaN never wins
      if (best_.is_float() && std::isnan(best_.as_float())) {
        best_ = v;
        return true;
      }
      return fail(ctx, name,
                  std::string("cannot compare ") + Value::type_name(v.type()) + " with " +
                      Value::type_name(best_.type()));
    }
    if (*c * Sign > 0) best_ = v;
    return true;
  }
  Value result() const override { return best_; }

 private:
  Value best_;
};

enum class Spread { StddevPop, StddevSample, VarPop, VarSample };

// Welford's online variance: numerically stable, O(1) memory.
template <Spread S>
class Variance final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    if (a[0].is_null()) return true;
    double x = 0;
    if (!number_arg(a[0], name(), ctx, x)) return false;
    ++n_;
    const double delta = x - mean_;
    mean_ += delta / static_cast<double>(n_);
    m2_ += delta * (x - mean_);
    return true;
  }
  Value result() const override {
    constexpr bool sample = S == Spread::StddevSample || S == Spread::VarSample;
    if (n_ == 0 || (sample && n_ < 2)) return Value();
    const double var = m2_ / static_cast<double>(sample ? n_ - 1 : n_);
    const double r = (S == Spread::StddevPop || S == Spread::StddevSample) ? std::sqrt(var) : var;
    return std::isfinite(r) ? Value(r) : Value();
  }

 private:
  static std::string_view name() {
    switch (S) {
      case Spread::StddevPop:
        return "stddev";
      case Spread::StddevSample:
        return "stddevs";
      case Spread::VarPop:
        return "var";
      case Spread::VarSample:
        return "vars";
    }
    return "var";
  }
  int64_t n_ = 0;
  double mean_ = 0;
  double m2_ = 0;
};

enum class Pct { Median, Cont, Disc, Percentile };  // Percentile: percentile_cont by another name

// Keeps the values; sorts once per result. The fraction is checked on every row (it may be an
// expression) and the first one is used.
template <Pct P>
class Percentile final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    constexpr std::string_view name = P == Pct::Median ? "median"
                                      : P == Pct::Cont ? "percentile_cont"
                                      : P == Pct::Disc ? "percentile_disc"
                                                       : "percentile";
    if (P != Pct::Median && !has_p_) {
      double p = 0;
      if (!a[1].is_number()) return type_error(ctx, name, "a fraction between 0 and 1", a[1]);
      number_arg(a[1], name, ctx, p);
      if (!(p >= 0 && p <= 1)) return fail(ctx, name, "the fraction must be between 0 and 1");
      p_ = p;
      has_p_ = true;
    }
    if (a[0].is_null()) return true;
    double x = 0;
    if (!number_arg(a[0], name, ctx, x)) return false;
    if (std::isnan(x)) return true;
    all_int_ = all_int_ && a[0].is_int();
    values_.push_back(x);
    return true;
  }

  Value result() const override {
    if (values_.empty()) return Value();
    std::vector<double> v = values_;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    if (P == Pct::Disc) {
      // The smallest value whose cumulative share reaches p.
      size_t k = static_cast<size_t>(std::ceil(p_ * static_cast<double>(n)));
      k = k == 0 ? 0 : k - 1;
      k = std::min(k, n - 1);
      if (all_int_) return Value(static_cast<int64_t>(v[k]));
      return Value(v[k]);
    }
    // Linear interpolation between the closest ranks.
    const double rank = (P == Pct::Median ? 0.5 : p_) * static_cast<double>(n - 1);
    const auto lo = static_cast<size_t>(std::floor(rank));
    const size_t hi = std::min(lo + 1, n - 1);
    const double frac = rank - static_cast<double>(lo);
    return Value(v[lo] + (v[hi] - v[lo]) * frac);
  }

 private:
  std::vector<double> values_;
  double p_ = 0.5;
  bool has_p_ = false;
  bool all_int_ = true;
};

bool ignore_null_arg(Args a, std::string_view name, CallContext& ctx, bool& ignore) {
  ignore = true;
  if (a.size() < 2 || a[1].is_null()) return true;
  if (!a[1].is_bool()) return type_error(ctx, name, "a boolean ignore_null flag", a[1]);
  ignore = a[1].as_bool();
  return true;
}

template <bool Last>
class Pick final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    bool ignore = true;
    if (!ignore_null_arg(a, Last ? "last_value" : "first_value", ctx, ignore)) return false;
    if (ignore && a[0].is_null()) return true;
    if (Last || !seen_) v_ = a[0];
    seen_ = true;
    return true;
  }
  Value result() const override { return v_; }

 private:
  Value v_;
  bool seen_ = false;
};

class Collect final : public Accumulator {
 public:
  bool add(Args a, CallContext&) override {
    if (!a[0].is_null()) values_.push_back(a[0]);
    return true;
  }
  Value result() const override { return Value(values_); }

 private:
  ValueArray values_;
};

struct ValueHash {
  size_t operator()(const Value& v) const { return v.hash(); }
};

class Deduplicate final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    bool ignore = true;
    if (!ignore_null_arg(a, "deduplicate", ctx, ignore)) return false;
    if (ignore && a[0].is_null()) return true;
    if (seen_.insert(a[0]).second) values_.push_back(a[0]);
    return true;
  }
  Value result() const override { return Value(values_); }

 private:
  std::unordered_set<Value, ValueHash> seen_;
  ValueArray values_;
};

// Objects merged member by member; a later row's member replaces an earlier one of that name.
class MergeAgg final : public Accumulator {
 public:
  bool add(Args a, CallContext& ctx) override {
    if (a[0].is_null()) return true;
    if (!a[0].is_object()) return type_error(ctx, "merge_agg", "an object", a[0]);
    for (const auto& m : a[0].as_object()) {
      auto it = std::find_if(merged_.begin(), merged_.end(),
                             [&](const auto& x) { return x.first == m.first; });
      if (it == merged_.end()) {
        merged_.push_back(m);
      } else {
        it->second = m.second;
      }
    }
    return true;
  }
  Value result() const override { return Value(merged_); }

 private:
  ValueObject merged_;
};

template <class T>
std::unique_ptr<Accumulator> make() {
  return std::make_unique<T>();
}

const AggregateFunction kAggregates[] = {
    {"count", 1, 1, true, make<Count>},
    {"sum", 1, 1, false, make<Sum>},
    {"avg", 1, 1, false, make<Avg>},
    {"min", 1, 1, false, make<Extreme<-1>>},
    {"max", 1, 1, false, make<Extreme<1>>},
    {"stddev", 1, 1, false, make<Variance<Spread::StddevPop>>},
    {"stddevs", 1, 1, false, make<Variance<Spread::StddevSample>>},
    {"var", 1, 1, false, make<Variance<Spread::VarPop>>},
    {"vars", 1, 1, false, make<Variance<Spread::VarSample>>},
    {"median", 1, 1, false, make<Percentile<Pct::Median>>},
    {"percentile_cont", 2, 2, false, make<Percentile<Pct::Cont>>},
    {"percentile_disc", 2, 2, false, make<Percentile<Pct::Disc>>},
    {"percentile", 2, 2, false, make<Percentile<Pct::Percentile>>},
    {"first_value", 1, 2, false, make<Pick<false>>},
    {"last_value", 1, 2, false, make<Pick<true>>},
    {"collect", 1, 1, false, make<Collect>},
    {"deduplicate", 1, 2, false, make<Deduplicate>},
    {"merge_agg", 1, 1, false, make<MergeAgg>},
};

}  // namespace

std::span<const AggregateFunction> aggregate_table() { return kAggregates; }

}  // namespace verge::rules::fn
