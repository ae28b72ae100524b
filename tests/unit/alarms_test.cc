#include "rules/alarms.h"

#include <gtest/gtest.h>

#include "rules_test_util.h"
#include "store/metadata.h"

namespace verge::rules {
namespace {

using testing::FakeBus;
using testing::Published;
using testing::TempDir;

AlarmFilter active_only(bool active) {
  AlarmFilter f;
  f.active = active;
  return f;
}
AlarmFilter with_prefix(std::string prefix) {
  AlarmFilter f;
  f.key_prefix = std::move(prefix);
  return f;
}

class AlarmsTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open(AlarmOptions options = {}) {
    alarms_.reset();
    meta_.reset();
    auto m = store::MetadataStore::open(dir_.path());
    ASSERT_TRUE(m) << m.error().message;
    meta_ = std::move(*m);
    alarms_ = std::make_unique<AlarmService>(*meta_, &bus_, options);
  }
  Value row(double temp) { return Value(ValueObject{{"temp", temp}}); }
  // The events published for `key`, in order.
  std::vector<std::string> events(const std::vector<Published>& msgs) {
    std::vector<std::string> out;
    for (const auto& m : msgs) {
      auto v = parse_json(m.payload);
      EXPECT_TRUE(v) << m.payload;
      if (v) out.push_back(v->find("event")->as_string());
    }
    return out;
  }

  TempDir dir_;
  FakeBus bus_;
  std::unique_ptr<store::MetadataStore> meta_;
  std::unique_ptr<AlarmService> alarms_;
};

TEST(Severity, NamesRoundTrip) {
  for (auto s :
       {Severity::Critical, Severity::Major, Severity::Minor, Severity::Warning, Severity::Info}) {
    EXPECT_EQ(parse_severity(severity_name(s)), s);
  }
  EXPECT_FALSE(parse_severity("severe"));
}

TEST_F(AlarmsTest, RaiseTwiceIsOneActiveAlarmWithCountTwo) {
  auto a = alarms_->raise("hot/d1", "r1", Severity::Major, "too hot", row(31), 1000);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->count, 1);
  auto b = alarms_->raise("hot/d1", "r1", Severity::Critical, "hotter", row(35), 3000);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->id, a->id);
  EXPECT_EQ(b->count, 2);
  EXPECT_EQ(b->severity, Severity::Critical);
  EXPECT_EQ(alarms_->raised_total(), 1u);

  auto active = alarms_->list(active_only(true));
  ASSERT_TRUE(active) << active.error().message;
  ASSERT_EQ(active->size(), 1u);
  const Alarm& got = (*active)[0];
  EXPECT_EQ(got.count, 2);
  EXPECT_EQ(got.message, "hotter");
  EXPECT_EQ(*got.details.find("temp"), Value(35.0));
  EXPECT_EQ(got.raised_at_ms, 1000);
  EXPECT_EQ(got.updated_at_ms, 3000);

  const auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].topic, "verge/alarms/hot/d1");
  EXPECT_EQ(msgs[0].qos, 1);
  EXPECT_TRUE(msgs[0].retain);
  EXPECT_EQ(events(msgs), (std::vector<std::string>{"raised", "updated"}));
  auto payload = parse_json(msgs[1].payload);
  ASSERT_TRUE(payload);
  EXPECT_EQ(*payload->find("alarm")->find("count"), Value(2));
  EXPECT_EQ(*payload->find("alarm")->find("severity"), Value("critical"));
}

TEST_F(AlarmsTest, UpdatesWithinASecondAreHeldUntilFlush) {
  ASSERT_TRUE(alarms_->raise("k", "r", Severity::Minor, "m", row(1), 10'000));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(alarms_->raise("k", "r", Severity::Minor, "m", row(2 + i), 10'001 + i));
  }
  EXPECT_EQ(events(bus_.take()), (std::vector<std::string>{"raised"}));
  alarms_->flush(10'100);
  const auto msgs = bus_.take();
  EXPECT_EQ(events(msgs), (std::vector<std::string>{"updated"}));
  auto listed = alarms_->list({});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].count, 51);
  // A second later, an update goes out at once.
  ASSERT_TRUE(alarms_->raise("k", "r", Severity::Minor, "m", row(9), 11'200));
  EXPECT_EQ(events(bus_.take()), (std::vector<std::string>{"updated"}));
}

TEST_F(AlarmsTest, ClearAndRaiseAgainOpensANewAlarm) {
  auto a = alarms_->raise("door", "r", Severity::Warning, "open", row(1), 100);
  ASSERT_TRUE(a);
  auto cleared = alarms_->clear("door", "r2", 200);
  ASSERT_TRUE(cleared);
  EXPECT_TRUE(*cleared);
  auto again = alarms_->clear("door", "r2", 300);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);  // nothing active
  auto b = alarms_->raise("door", "r", Severity::Warning, "open", row(1), 400);
  ASSERT_TRUE(b);
  EXPECT_NE(b->id, a->id);
  EXPECT_EQ(alarms_->cleared_total(), 1u);
  EXPECT_EQ(alarms_->raised_total(), 2u);

  auto old = alarms_->get(a->id);
  ASSERT_TRUE(old);
  ASSERT_TRUE(old->has_value());
  EXPECT_FALSE((*old)->active);
  EXPECT_EQ((*old)->cleared_at_ms, 200);
  auto inactive = alarms_->list(active_only(false));
  ASSERT_TRUE(inactive);
  ASSERT_EQ(inactive->size(), 1u);
  EXPECT_EQ((*inactive)[0].id, a->id);
  EXPECT_EQ(events(bus_.take()), (std::vector<std::string>{"raised", "cleared", "raised"}));
}

TEST_F(AlarmsTest, AckActiveAndClearedAlarms) {
  auto a = alarms_->raise("pump", "r", Severity::Critical, "stalled", row(0), 100);
  ASSERT_TRUE(a);
  auto acked = alarms_->ack(a->id, "alice", 150);
  ASSERT_TRUE(acked) << acked.error().message;
  EXPECT_TRUE(acked->acked);
  EXPECT_EQ(acked->acked_by, "alice");
  EXPECT_EQ(acked->acked_at_ms, 150);
  EXPECT_TRUE(acked->active);
  // Twice: unchanged, nothing published.
  auto twice = alarms_->ack(a->id, "bob", 160);
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->acked_by, "alice");
  // The ack survives an update and the clear.
  ASSERT_TRUE(alarms_->raise("pump", "r", Severity::Critical, "stalled", row(0), 2000));
  ASSERT_TRUE(alarms_->clear("pump", "r", 3000));
  auto got = alarms_->get(a->id);
  ASSERT_TRUE(got && got->has_value());
  EXPECT_TRUE((*got)->acked);
  EXPECT_EQ((*got)->count, 2);
  EXPECT_FALSE((*got)->active);

  auto b = alarms_->raise("pump", "r", Severity::Critical, "stalled", row(0), 4000);
  ASSERT_TRUE(b);
  bus_.take();
  // Acking the current alarm of a key updates its retained state.
  auto b_ack = alarms_->ack(b->id, "carol", 4100);
  ASSERT_TRUE(b_ack);
  auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].retain);
  EXPECT_EQ(events(msgs), (std::vector<std::string>{"acked"}));

  auto missing = alarms_->ack(999, "x", 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "alarm 999 not found");
}

TEST_F(AlarmsTest, AckOfAnOldAlarmDoesNotReplaceTheRetainedState) {
  auto a = alarms_->raise("fan", "r", Severity::Minor, "m", row(0), 100);
  ASSERT_TRUE(a);
  ASSERT_TRUE(alarms_->clear("fan", "r", 200));
  ASSERT_TRUE(alarms_->raise("fan", "r", Severity::Minor, "m", row(0), 300));
  bus_.take();
  ASSERT_TRUE(alarms_->ack(a->id, "ops", 400));
  auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_FALSE(msgs[0].retain);
}

TEST_F(AlarmsTest, FlappingHoldsNotificationsUntilStable) {
  AlarmOptions options;
  options.flap_transitions = 4;
  options.flap_window_ms = 10'000;
  open(options);
  int64_t t = 0;
  // raise, clear, raise: three transitions, all published.
  ASSERT_TRUE(alarms_->raise("v", "r", Severity::Major, "m", row(0), t += 100));
  ASSERT_TRUE(alarms_->clear("v", "r", t += 100));
  ASSERT_TRUE(alarms_->raise("v", "r", Severity::Major, "m", row(0), t += 100));
  EXPECT_EQ(events(bus_.take()), (std::vector<std::string>{"raised", "cleared", "raised"}));
  // The fourth starts flapping: published once with flapping true; later ones are held.
  ASSERT_TRUE(alarms_->clear("v", "r", t += 100));
  auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  auto v = parse_json(msgs[0].payload);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v->find("alarm")->find("flapping"), Value(true));
  ASSERT_TRUE(alarms_->raise("v", "r", Severity::Major, "m", row(0), t += 100));
  ASSERT_TRUE(alarms_->clear("v", "r", t += 100));
  auto last = alarms_->raise("v", "r", Severity::Major, "m", row(0), t += 100);
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->flapping);
  EXPECT_TRUE(bus_.take().empty());
  // Every transition is stored: 4 alarms opened.
  auto all = alarms_->list({});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 4u);
  // Still flapping while the window holds many transitions.
  EXPECT_TRUE(alarms_->flush(t + 100));  // work left: the key still flaps
  EXPECT_TRUE(bus_.take().empty());
  // Once the window has moved past them, the current state is published, not flapping.
  EXPECT_FALSE(alarms_->flush(t + 10'000));
  msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  v = parse_json(msgs[0].payload);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v->find("event"), Value("raised"));
  EXPECT_EQ(*v->find("alarm")->find("flapping"), Value(false));
  EXPECT_EQ(*v->find("alarm")->find("id"), Value(last->id));
  auto stored = alarms_->get(last->id);
  ASSERT_TRUE(stored && stored->has_value());
  EXPECT_FALSE((*stored)->flapping);
}

TEST_F(AlarmsTest, PersistsAcrossReopen) {
  auto a = alarms_->raise("site/gate", "r", Severity::Info, "left open", row(1), 100);
  ASSERT_TRUE(a);
  ASSERT_TRUE(alarms_->raise("site/gate", "r", Severity::Info, "left open", row(2), 200));  // held
  auto b = alarms_->raise("site/pump", "r", Severity::Major, "dry", row(3), 300);
  ASSERT_TRUE(b);
  ASSERT_TRUE(alarms_->clear("site/pump", "r", 400));
  ASSERT_TRUE(alarms_->ack(b->id, "ops", 500));
  open();  // the held update is written at destruction

  auto listed = alarms_->list(with_prefix("site/"));
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  const Alarm& pump = (*listed)[0];  // newest first
  const Alarm& gate = (*listed)[1];
  EXPECT_EQ(gate.id, a->id);
  EXPECT_TRUE(gate.active);
  EXPECT_EQ(gate.count, 2);
  EXPECT_EQ(*gate.details.find("temp"), Value(2.0));
  EXPECT_EQ(gate.severity, Severity::Info);
  EXPECT_FALSE(pump.active);
  EXPECT_TRUE(pump.acked);
  EXPECT_EQ(pump.acked_by, "ops");
  EXPECT_EQ(pump.cleared_at_ms, 400);

  // The reopened service knows the active alarm: raising its key updates it.
  auto again = alarms_->raise("site/gate", "r", Severity::Info, "left open", row(4), 5000);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->id, a->id);
  EXPECT_EQ(again->count, 3);
  ASSERT_TRUE(alarms_->clear("site/gate", "r", 6000));
}

TEST_F(AlarmsTest, FiltersBySeverityAndPrefix) {
  ASSERT_TRUE(alarms_->raise("a/1", "r", Severity::Critical, "", row(0), 1));
  ASSERT_TRUE(alarms_->raise("a/2", "r", Severity::Minor, "", row(0), 2));
  ASSERT_TRUE(alarms_->raise("b_%", "r", Severity::Info, "", row(0), 3));
  AlarmFilter major;
  major.severity_at_least = Severity::Major;
  auto major_up = alarms_->list(major);
  ASSERT_TRUE(major_up);
  ASSERT_EQ(major_up->size(), 1u);
  EXPECT_EQ((*major_up)[0].key, "a/1");
  auto prefix = alarms_->list(with_prefix("b_"));
  ASSERT_TRUE(prefix);
  ASSERT_EQ(prefix->size(), 1u);
  AlarmFilter two;
  two.limit = 2;
  auto limited = alarms_->list(two);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 2u);
}

TEST_F(AlarmsTest, BadKeysAreRefused) {
  for (const char* key : {"", "a/+", "a/#"}) {
    auto r = alarms_->raise(key, "r", Severity::Major, "", row(0), 1);
    EXPECT_FALSE(r) << key;
  }
  auto nul = alarms_->raise(std::string_view("a\0b", 3), "r", Severity::Major, "", row(0), 1);
  EXPECT_FALSE(nul);
  EXPECT_FALSE(alarms_->raise(std::string(300, 'k'), "r", Severity::Major, "", row(0), 1));
  EXPECT_TRUE(bus_.take().empty());
}

}  // namespace
}  // namespace verge::rules
