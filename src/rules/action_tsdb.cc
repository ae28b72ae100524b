// tsdb: stores row values in the time-series store. With `value: col` the column is one series
// named by the `series` template; without it every top-level number, bool and string of the row
// is its own series "<series>.<column>". The point's time is the row's `timestamp` column when
// configured and an integer (ms), else the engine's clock. Series ids are cached per name.
#include <deque>
#include <unordered_map>

#include "rules/action_internal.h"
#include "store/tsdb.h"

namespace verge::rules {

namespace {

constexpr size_t kMaxCachedSeries = 10'000;

class TsdbAction final : public Action {
 public:
  TsdbAction(store::Tsdb& tsdb, Template series, std::string value_column, std::string time_column,
             std::string group)
      : tsdb_(tsdb),
        series_(std::move(series)),
        value_column_(std::move(value_column)),
        time_column_(std::move(time_column)),
        group_(std::move(group)) {}

  std::string_view kind() const override { return "tsdb"; }

  void emit(const Value& row, std::string_view /*rule_id*/, int64_t now_ms) override {
    auto base = series_.render(row, Template::Missing::Error);
    if (!base) return fail("series: " + base.error().message);
    int64_t ts = now_ms;
    if (!time_column_.empty()) {
      const Value* t = row.find(time_column_);
      if (t == nullptr || !t->is_int()) {
        return fail("timestamp column '" + time_column_ + "' is missing or not an integer");
      }
      ts = t->as_int();
    }
    samples_.clear();
    strings_.clear();
    if (!value_column_.empty()) {
      const Value* v = row.find(value_column_);
      if (v == nullptr || v->is_null()) {
        return fail("value column '" + value_column_ + "' is missing or null in the row");
      }
      if (auto r = add(*base, *v, ts); !r) return fail(r.error().message);
    } else if (row.is_object()) {
      for (const auto& [name, v] : row.as_object()) {
        if (v.is_null() || v.is_array() || v.is_object()) continue;
        if (auto r = add(*base + "." + name, v, ts); !r) return fail(r.error().message);
      }
    }
    if (samples_.empty()) return fail("the row holds no number, bool or string to store");
    auto stored = tsdb_.append(samples_);
    if (!stored) return fail(stored.error().message);
    if (*stored < samples_.size()) {
      return fail("the store rejected " + std::to_string(samples_.size() - *stored) +
                  " point(s) (too old or bad timestamp)");
    }
    ++counters_.sent;
  }

 private:
  Result<void> add(const std::string& name, const Value& v, int64_t ts) {
    store::ValueType type;
    store::Sample s;
    s.ts_ms = ts;
    switch (v.type()) {
      case Value::Type::Int:
        type = store::ValueType::Int;
        s.i = v.as_int();
        break;
      case Value::Type::Float:
        type = store::ValueType::Float;
        s.f = v.as_float();
        break;
      case Value::Type::Bool:
        type = store::ValueType::Bool;
        s.i = v.as_bool() ? 1 : 0;
        break;
      case Value::Type::String:
        type = store::ValueType::String;
        strings_.push_back(v.as_string());
        s.s = strings_.back();
        break;
      default:
        return unexpected(Error{"series " + name + ": only numbers, bools and strings are stored"});
    }
    auto id = series_id(name, type);
    if (!id) return unexpected(id.error());
    s.series = *id;
    samples_.push_back(s);
    return {};
  }

  Result<store::SeriesId> series_id(const std::string& name, store::ValueType type) {
    if (auto it = ids_.find(name); it != ids_.end() && it->second.second == type) {
      return it->second.first;
    }
    auto id = tsdb_.series(name, type, group_);
    if (!id) return unexpected(Error{"series " + name + ": " + id.error().message});
    if (ids_.size() >= kMaxCachedSeries) ids_.clear();  // bounded; the store finds them again
    ids_[name] = {*id, type};
    return *id;
  }

  void fail(std::string why) {
    ++counters_.failed;
    counters_.last_error = std::move(why);
  }

  store::Tsdb& tsdb_;
  Template series_;
  std::string value_column_, time_column_, group_;
  std::unordered_map<std::string, std::pair<store::SeriesId, store::ValueType>> ids_;
  std::vector<store::Sample> samples_;
  std::deque<std::string> strings_;  // the text of string samples (a deque: views stay valid)
};

}  // namespace

ActionResult make_tsdb_action(ActionConfig& cfg, const ActionServices& services) {
  auto series = cfg.tmpl("series");
  if (!series) return unexpected(series.error());
  auto value = cfg.opt_string("value");
  if (!value) return unexpected(value.error());
  auto timestamp = cfg.opt_string("timestamp");
  if (!timestamp) return unexpected(timestamp.error());
  auto group = cfg.opt_string("group");
  if (!group) return unexpected(group.error());
  if (services.tsdb == nullptr) {
    return unexpected(Error{"tsdb action: no time-series store on this node"});
  }
  return std::unique_ptr<Action>(
      std::make_unique<TsdbAction>(*services.tsdb, std::move(*series), value->value_or(""),
                                   timestamp->value_or(""), group->value_or("default")));
}

}  // namespace verge::rules
