// Analytic functions: state kept across the events of one call site and partition, with
// eKuiper's semantics (lag, latest, changed_col, had_changed). The engine calls a state only for
// events that pass the call's OVER (WHEN ...) condition.
#include <vector>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

// The longest lag offset: the state holds that many values per partition.
constexpr int64_t kMaxLag = 10000;

bool bool_arg(const Value& v, std::string_view fn, CallContext& ctx, bool& b) {
  if (!v.is_bool()) return type_error(ctx, fn, "a boolean ignore_null flag", v);
  b = v.as_bool();
  return true;
}

// lag(x[, n[, default[, ignore_null]]]): x as it was n calls ago (default 1); `default` until
// there have been n calls. The offset and default are taken from the first call, as eKuiper
// does (its example: ts - lag(ts, 1, ts, true) starts at 0). With ignore_null, a null x is not
// remembered and the call returns what the previous non-null value would give.
class Lag final : public AnalyticState {
 public:
  bool call(Args a, CallContext& ctx, Value& out) override {
    if (!started_) {
      int64_t n = 1;
      if (a.size() > 1) {
        auto i = integral(a[1]);
        if (!i) return type_error(ctx, "lag", "an integer offset", a[1]);
        if (*i < 0 || *i > kMaxLag)
          return fail(ctx, "lag", "the offset must be between 0 and 10000");
        n = *i;
      }
      ring_.assign(static_cast<size_t>(n), a.size() > 2 ? a[2] : Value());
      started_ = true;
    }
    bool ignore_null = false;
    if (a.size() > 3 && !a[3].is_null() && !bool_arg(a[3], "lag", ctx, ignore_null)) return false;
    if (ring_.empty()) {  // lag(x, 0) is x
      out = a[0];
      return true;
    }
    out = ring_[head_];  // the oldest value, n calls back
    if (ignore_null && a[0].is_null()) return true;
    ring_[head_] = a[0];
    head_ = (head_ + 1) % ring_.size();
    return true;
  }

 private:
  std::vector<Value> ring_;
  size_t head_ = 0;
  bool started_ = false;
};

// latest(x[, default]): the latest non-null x; default (or null) before there is one.
class Latest final : public AnalyticState {
 public:
  bool call(Args a, CallContext&, Value& out) override {
    if (!a[0].is_null()) {
      last_ = a[0];
      out = a[0];
      return true;
    }
    out = !last_.is_null() ? last_ : (a.size() > 1 ? a[1] : Value());
    return true;
  }

 private:
  Value last_;
};

// changed_col(ignore_null, x): x when it differs from the last value seen, else null. The state
// starts as null, so the first non-null x counts as a change. With ignore_null a null x is
// neither a change nor remembered.
class ChangedCol final : public AnalyticState {
 public:
  bool call(Args a, CallContext& ctx, Value& out) override {
    bool ignore_null = false;
    if (!bool_arg(a[0], "changed_col", ctx, ignore_null)) return false;
    const Value& x = a[1];
    if ((ignore_null && x.is_null()) || x == last_) {
      out = Value();
      return true;
    }
    last_ = x;
    out = x;
    return true;
  }

 private:
  Value last_;
};

// had_changed(ignore_null, x1, x2, ...): true when any x differs from its last value (each
// remembered separately; nulls skipped with ignore_null).
class HadChanged final : public AnalyticState {
 public:
  bool call(Args a, CallContext& ctx, Value& out) override {
    bool ignore_null = false;
    if (!bool_arg(a[0], "had_changed", ctx, ignore_null)) return false;
    if (last_.size() < a.size() - 1) last_.resize(a.size() - 1);
    bool changed = false;
    for (size_t i = 1; i < a.size(); ++i) {
      if (ignore_null && a[i].is_null()) continue;
      if (!(a[i] == last_[i - 1])) {
        last_[i - 1] = a[i];
        changed = true;
      }
    }
    out = Value(changed);
    return true;
  }

 private:
  std::vector<Value> last_;
};

template <class T>
std::unique_ptr<AnalyticState> make() {
  return std::make_unique<T>();
}

const AnalyticFunction kAnalytic[] = {
    {"lag", 1, 4, make<Lag>},
    {"latest", 1, 2, make<Latest>},
    {"changed_col", 2, 2, make<ChangedCol>},
    {"had_changed", 2, -1, make<HadChanged>},
};

}  // namespace

std::span<const AnalyticFunction> analytic_table() { return kAnalytic; }

}  // namespace verge::rules::fn
