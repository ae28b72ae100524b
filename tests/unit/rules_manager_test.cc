// The rule manager with an in-memory bus: delivery on other threads, lifecycle, lossless update,
// dead letters, persistence in meta.db and metrics.
#include "rules/manager.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "mqtt/topic.h"
#include "rules/bus.h"
#include "store/metadata.h"

namespace verge::rules {
namespace {

// Delivers on the publisher's thread (a test thread stands for a broker thread), holding its
// lock so that after unsubscribe() returns no handler runs, as the broker promises.
class FakeBus final : public Bus {
 public:
  uint64_t subscribe(std::string_view filter, Handler handler) override {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t id = next_++;
    subs_[id] = {std::string(filter), std::move(handler)};
    return id;
  }
  void unsubscribe(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    subs_.erase(id);
  }
  void publish(std::string_view topic, std::string_view payload, uint8_t /*qos*/,
               bool /*retain*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.emplace_back(std::string(topic), std::string(payload));
    for (auto& [id, s] : subs_) {
      if (mqtt::topic_matches(s.first, topic)) s.second(topic, payload);
    }
    cv_.notify_all();
  }
  size_t subscriptions() {
    std::lock_guard<std::mutex> lock(mu_);
    return subs_.size();
  }
  std::vector<std::string> payloads_on(std::string_view topic) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [t, p] : log_) {
      if (t == topic) out.push_back(p);
    }
    return out;
  }
  // Waits (bounded) until `n` messages were published on topics starting with `prefix`.
  bool wait_for(std::string_view prefix, size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] {
      size_t c = 0;
      for (const auto& [t, p] : log_) c += t.starts_with(prefix) ? 1 : 0;
      return c >= n;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 1;
  std::map<uint64_t, std::pair<std::string, Handler>> subs_;
  std::vector<std::pair<std::string, std::string>> log_;
};

Value publish_to(const std::string& topic) {
  return Value(ValueObject{{"publish", Value(ValueObject{{"topic", topic}})}});
}

RuleSpec rule(const std::string& id, const std::string& sql, const std::string& out_topic) {
  RuleSpec s;
  s.id = id;
  s.sql = sql;
  s.actions.push_back(publish_to(out_topic));
  return s;
}

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { make(nullptr); }
  void make(store::MetadataStore* meta, size_t max_queued_bytes = size_t{64} << 20) {
    manager_.reset();
    ManagerOptions o;
    o.services.bus = &bus_;
    o.meta = meta;
    o.max_queued_bytes = max_queued_bytes;
    auto m = RuleManager::create(std::move(o));
    ASSERT_TRUE(m.has_value()) << m.error().message;
    manager_ = std::move(*m);
  }
  // Everything published so far has been processed: posts from one thread run in order.
  void settle() {
    manager_->run_on_engine([] {});
  }
  FakeBus bus_;
  std::unique_ptr<RuleManager> manager_;
};

constexpr const char* kStream = R"(CREATE STREAM s () WITH (DATASOURCE="in/#"))";

TEST_F(ManagerTest, RunsARuleAndSharesSubscriptions) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->create(rule("hot", "SELECT id, t FROM s WHERE t > 30", "out/hot")));
  ASSERT_TRUE(manager_->create(rule("all", "SELECT id FROM s", "out/all")));
  EXPECT_EQ(bus_.subscriptions(), 1u);  // one per distinct filter
  bus_.publish("in/a", R"({"id":"a","t":25})", 0, false);
  bus_.publish("in/b", R"({"id":"b","t":35})", 0, false);
  settle();
  EXPECT_EQ(bus_.payloads_on("out/hot"), std::vector<std::string>{R"({"id":"b","t":35})"});
  EXPECT_EQ(bus_.payloads_on("out/all").size(), 2u);
  auto st = manager_->status("hot");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->state, RuleState::Running);
  EXPECT_EQ(st->counters.records_in, 2u);
  EXPECT_EQ(st->counters.records_out, 1u);
  EXPECT_EQ(st->counters.filtered, 1u);
  ASSERT_EQ(st->actions.size(), 1u);
  EXPECT_EQ(st->actions[0].kind, "publish");
  EXPECT_EQ(st->actions[0].counters.sent, 1u);
  EXPECT_EQ(st->latency_count, 2u);
  EXPECT_GT(st->latency_max_us, 0.0);
  EXPECT_LE(st->latency_p50_us, st->latency_max_us);
}

TEST_F(ManagerTest, RefusesBadRulesWithTheError) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  auto sql = manager_->create(rule("bad", "SELECT FROM s", "out/x"));
  ASSERT_FALSE(sql.has_value());
  EXPECT_EQ(sql.error().code, RuleErrc::Sql);
  EXPECT_EQ(sql.error().sql.pos.line, 1u);
  EXPECT_GT(sql.error().sql.pos.column, 1u);
  RuleSpec bad_action = rule("act", "SELECT * FROM s", "out/x");
  bad_action.actions.push_back(Value(ValueObject{{"publish", Value(ValueObject{})}}));
  auto act = manager_->create(bad_action);
  ASSERT_FALSE(act.has_value());
  EXPECT_EQ(act.error().code, RuleErrc::Invalid);
  EXPECT_NE(act.error().message.find("actions[1]"), std::string::npos) << act.error().message;
  EXPECT_TRUE(manager_->list().empty());
  EXPECT_EQ(bus_.subscriptions(), 0u);
  ASSERT_TRUE(manager_->create(rule("ok", "SELECT * FROM s", "out/x")));
  auto dup = manager_->create(rule("ok", "SELECT * FROM s", "out/x"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, RuleErrc::Exists);
  EXPECT_EQ(manager_->status("nope").error().code, RuleErrc::NotFound);
}

TEST_F(ManagerTest, StopStartRemove) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->create(rule("r", "SELECT * FROM s", "out/r")));
  ASSERT_TRUE(manager_->stop("r"));
  EXPECT_EQ(bus_.subscriptions(), 0u);  // stopped rules keep no subscription
  bus_.publish("in/a", R"({"x":1})", 0, false);
  settle();
  EXPECT_TRUE(bus_.payloads_on("out/r").empty());
  EXPECT_EQ(manager_->status("r")->state, RuleState::Stopped);
  ASSERT_TRUE(manager_->start("r"));
  EXPECT_EQ(bus_.subscriptions(), 1u);
  bus_.publish("in/a", R"({"x":2})", 0, false);
  settle();
  EXPECT_EQ(bus_.payloads_on("out/r"), std::vector<std::string>{R"({"x":2})"});
  ASSERT_TRUE(manager_->restart("r"));
  EXPECT_EQ(manager_->status("r")->state, RuleState::Running);
  // A stream read by a rule cannot be dropped.
  auto drop = manager_->drop_stream("s");
  ASSERT_FALSE(drop.has_value());
  EXPECT_EQ(drop.error().code, RuleErrc::Conflict);
  ASSERT_TRUE(manager_->remove("r"));
  EXPECT_EQ(bus_.subscriptions(), 0u);
  EXPECT_EQ(manager_->remove("r").error().code, RuleErrc::NotFound);
  EXPECT_TRUE(manager_->drop_stream("s"));
  EXPECT_TRUE(manager_->streams().empty());
}

TEST_F(ManagerTest, DeadLetters) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  RuleSpec s = rule("dl", "SELECT t + 1 AS u FROM s", "out/dl");
  s.dead_letter_topic = "dead/dl";
  ASSERT_TRUE(manager_->create(s));
  bus_.publish("in/a", "not json", 0, false);
  bus_.publish("in/a", R"({"t":1})", 0, false);
  settle();
  const auto dead = bus_.payloads_on("dead/dl");
  ASSERT_EQ(dead.size(), 1u);
  auto v = parse_json(dead[0]);
  ASSERT_TRUE(v.has_value()) << dead[0];
  EXPECT_EQ(*v->find("rule"), Value("dl"));
  EXPECT_EQ(*v->find("payload"), Value("not json"));
  ASSERT_TRUE(v->find("reason")->is_string());
  EXPECT_FALSE(v->find("reason")->as_string().empty());
  EXPECT_EQ(bus_.payloads_on("out/dl"), std::vector<std::string>{R"({"u":2})"});
  EXPECT_EQ(manager_->status("dl")->counters.decode_errors, 1u);
}

// Publishes continuously from another thread while the rule is replaced, back and forth between
// two filters and two projections: no message is lost.
TEST_F(ManagerTest, UpdateLosesNothing) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->define_stream(R"(CREATE STREAM s2 () WITH (DATASOURCE="in/+/x"))"));
  ASSERT_TRUE(manager_->create(rule("u", "SELECT n FROM s", "out/u")));
  constexpr int kMessages = 20000;
  constexpr int kPerUpdate = 100;
  std::atomic<bool> done{false};
  std::atomic<int> updates{0};
  const int sent = kMessages;
  // Publishes in steps of kPerUpdate messages per update, so updates overlap the whole stream
  // (without pacing, the publisher floods the engine and finishes before the second update).
  std::thread publisher([&] {
    for (int i = 0; i < kMessages; ++i) {
      while (i / kPerUpdate > updates.load()) std::this_thread::yield();
      bus_.publish("in/" + std::to_string(i % 7) + "/x", "{\"n\":" + std::to_string(i) + "}", 0,
                   false);
    }
    done = true;
  });
  while (!done) {
    const bool odd = updates % 2 == 1;
    auto r =
        manager_->update(rule("u", odd ? "SELECT n FROM s" : "SELECT n, 1 AS v FROM s2", "out/u"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ++updates;
  }
  publisher.join();
  settle();
  EXPECT_GE(updates, kMessages / kPerUpdate - 1);
  const auto out = bus_.payloads_on("out/u");
  std::vector<int> seen(static_cast<size_t>(sent), 0);
  for (const std::string& p : out) {
    auto v = parse_json(p);
    ASSERT_TRUE(v.has_value());
    const int64_t n = v->find("n")->as_int();
    ASSERT_LT(n, sent);
    ++seen[static_cast<size_t>(n)];
  }
  // None lost. A publish racing with the new subscription may reach both programs (one
  // publisher: at most one message per update).
  size_t twice = 0;
  for (int i = 0; i < sent; ++i) {
    EXPECT_GE(seen[static_cast<size_t>(i)], 1) << "lost message " << i;
    EXPECT_LE(seen[static_cast<size_t>(i)], 2) << "message " << i;
    twice += seen[static_cast<size_t>(i)] == 2 ? 1 : 0;
  }
  EXPECT_LE(twice, static_cast<size_t>(updates.load()));
  EXPECT_EQ(out.size(), static_cast<size_t>(sent) + twice);
  auto st = manager_->status("u");
  EXPECT_EQ(st->counters.records_in, out.size());  // carried over updates
  EXPECT_EQ(bus_.subscriptions(), 1u);
}

TEST_F(ManagerTest, ProcessingTimeWindowsCloseOnTheTimer) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  // A 10 ms window: the engine's timer closes it without further input.
  ASSERT_TRUE(manager_->create(
      rule("w", "SELECT count(*) AS n FROM s GROUP BY TUMBLINGWINDOW(ms, 10)", "out/w")));
  bus_.publish("in/a", R"({"x":1})", 0, false);
  bus_.publish("in/a", R"({"x":2})", 0, false);
  ASSERT_TRUE(bus_.wait_for("out/w", 1));
  size_t total = 0;
  for (const auto& p : bus_.payloads_on("out/w"))
    total += static_cast<size_t>(parse_json(p)->find("n")->as_int());
  EXPECT_EQ(total, 2u);
}

TEST_F(ManagerTest, TablesAreFedAndJoined) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->define_stream(
      R"(CREATE TABLE lim (id STRING, max FLOAT) WITH (DATASOURCE="lim/#", KEY="id"))"));
  ASSERT_TRUE(manager_->create(
      rule("j", "SELECT s.id, s.t FROM s INNER JOIN lim ON s.id = lim.id WHERE s.t > lim.max",
           "out/j")));
  bus_.publish("lim/a", R"({"id":"a","max":10})", 0, false);
  bus_.publish("in/a", R"({"id":"a","t":5})", 0, false);
  bus_.publish("in/a", R"({"id":"a","t":15})", 0, false);
  settle();
  EXPECT_EQ(bus_.payloads_on("out/j"), std::vector<std::string>{R"({"id":"a","t":15})"});
  auto drop = manager_->drop_stream("lim");
  EXPECT_FALSE(drop.has_value());
}

TEST_F(ManagerTest, ConfigRulesAreProtected) {
  ASSERT_TRUE(manager_->define_stream(kStream, true));
  RuleSpec s = rule("cfg", "SELECT * FROM s", "out/c");
  s.from_config = true;
  ASSERT_TRUE(manager_->create(s));
  EXPECT_EQ(manager_->remove("cfg").error().code, RuleErrc::Conflict);
  RuleSpec rest = rule("cfg", "SELECT 1 AS one FROM s", "out/c");
  EXPECT_EQ(manager_->update(rest).error().code, RuleErrc::Conflict);
  EXPECT_TRUE(manager_->status("cfg")->from_config);
  ASSERT_TRUE(manager_->remove("cfg", true));
  EXPECT_EQ(manager_->drop_stream("s").error().code, RuleErrc::Conflict);
  EXPECT_TRUE(manager_->drop_stream("s", true));
}

TEST_F(ManagerTest, RedefiningAStreamInUseIsRefused) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->create(rule("r", "SELECT * FROM s", "out/r")));
  EXPECT_TRUE(manager_->define_stream(kStream));  // unchanged: fine
  auto r = manager_->define_stream(R"(CREATE STREAM s () WITH (DATASOURCE="other/#"))");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, RuleErrc::Conflict);
  auto bad = manager_->define_stream("CREATE STREAM");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, RuleErrc::Sql);
}

TEST_F(ManagerTest, PersistsRestRulesAndStreams) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("verge-manager-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto meta = store::MetadataStore::open(dir.string());
    ASSERT_TRUE(meta.has_value()) << meta.error().message;
    make(meta->get());
    ASSERT_TRUE(manager_->define_stream(kStream));
    ASSERT_TRUE(manager_->define_stream(R"(CREATE STREAM cfgs () WITH (DATASOURCE="c/#"))", true));
    ASSERT_TRUE(manager_->create(rule("kept", "SELECT * FROM s", "out/k")));
    ASSERT_TRUE(manager_->create(rule("stopped", "SELECT * FROM s", "out/st")));
    ASSERT_TRUE(manager_->stop("stopped"));
    ASSERT_TRUE(manager_->create(rule("gone", "SELECT * FROM s", "out/g")));
    ASSERT_TRUE(manager_->remove("gone"));
    RuleSpec cfg = rule("cfg", "SELECT * FROM cfgs", "out/c");
    cfg.from_config = true;
    ASSERT_TRUE(manager_->create(cfg));
    RuleSpec upd = rule("kept", "SELECT x FROM s", "out/k");
    ASSERT_TRUE(manager_->update(upd));
    manager_.reset();
  }
  auto meta = store::MetadataStore::open(dir.string());
  ASSERT_TRUE(meta.has_value());
  make(meta->get());
  const auto rules = manager_->list();
  ASSERT_EQ(rules.size(), 2u);  // config rules are the configuration's to declare again
  EXPECT_EQ(rules[0].id, "kept");
  EXPECT_EQ(rules[0].sql, "SELECT x FROM s");
  EXPECT_EQ(rules[0].state, RuleState::Running);
  EXPECT_EQ(rules[1].id, "stopped");
  EXPECT_EQ(rules[1].state, RuleState::Stopped);
  const auto streams = manager_->streams();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].name, "s");
  bus_.publish("in/a", R"({"x":7,"y":1})", 0, false);
  settle();
  EXPECT_EQ(bus_.payloads_on("out/k"), std::vector<std::string>{R"({"x":7})"});
  manager_.reset();
  meta->reset();
  std::filesystem::remove_all(dir);
}

TEST_F(ManagerTest, MetricsText) {
  metrics::Registry reg;
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->create(rule("m", "SELECT * FROM s WHERE x > 1", "out/m")));
  manager_->register_metrics(reg);
  bus_.publish("in/a", R"({"x":1})", 0, false);
  bus_.publish("in/a", R"({"x":2})", 0, false);
  bus_.publish("in/a", "{", 0, false);
  settle();
  const std::string text = reg.render();
  for (const char* line : {
           "verge_rules_loaded 1\n",
           "verge_rule_records_in_total{rule=\"m\"} 3\n",
           "verge_rule_records_out_total{rule=\"m\"} 1\n",
           "verge_rule_filtered_total{rule=\"m\"} 1\n",
           "verge_rule_errors_total{kind=\"decode\",rule=\"m\"} 1\n",
           "verge_rule_action_sent_total{action=\"publish\",index=\"0\",rule=\"m\"} 1\n",
           "verge_rule_latency_seconds_count{rule=\"m\"} 3\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  // The collector outlives the manager in the registry without reaching into it.
  manager_.reset();
  EXPECT_EQ(reg.render().find("verge_rules_loaded"), std::string::npos);
}

// The benchmark's budget: 10,000 simple rules loaded at once, at most 50 KB each (heap bytes in
// use, counted by malloc, so the figure does not depend on what the allocator keeps mapped).
TEST_F(ManagerTest, TenThousandSimpleRulesFitTheMemoryBudget) {
  ASSERT_TRUE(manager_->define_stream(kStream));
  constexpr int kRules = 10000;
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < kRules; ++i) {
    const std::string id = "r" + std::to_string(i);
    auto r = manager_->create(
        rule(id, "SELECT id, t FROM s WHERE t > " + std::to_string(i), "out/" + id));
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  const size_t after = mallinfo2().uordblks;
  const double per_rule = static_cast<double>(after - before) / kRules;
  std::printf("heap per simple rule: %.0f bytes\n", per_rule);
  EXPECT_LT(per_rule, 50.0 * 1024);
  EXPECT_EQ(bus_.subscriptions(), 1u);
  bus_.publish("in/a", R"({"id":"a","t":5000.5})", 0, false);
  settle();
  EXPECT_EQ(bus_.payloads_on("out/r5000").size(), 1u);
  EXPECT_EQ(bus_.payloads_on("out/r5001").size(), 0u);
}

// An engine that falls behind sheds new messages past its queue bound, and counts them.
TEST_F(ManagerTest, QueueIsBoundedAndOverflowIsCounted) {
  make(nullptr, 20 * 1024);
  metrics::Registry reg;
  manager_->register_metrics(reg);
  ASSERT_TRUE(manager_->define_stream(kStream));
  ASSERT_TRUE(manager_->create(rule("q", "SELECT n FROM s", "out/q")));
  // Hold the engine thread until everything is published.
  std::mutex mu;
  std::condition_variable cv;
  bool blocked = false, release = false;
  std::thread holder([&] {
    manager_->run_on_engine([&] {
      std::unique_lock<std::mutex> lock(mu);
      blocked = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    });
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return blocked; });
  }
  constexpr int kSent = 1000;  // about 150 bytes queued each: far over 20 KiB
  for (int i = 0; i < kSent; ++i) {
    bus_.publish("in/a", "{\"n\":" + std::to_string(i) + "}", 0, false);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  holder.join();
  settle();
  const size_t out = bus_.payloads_on("out/q").size();
  EXPECT_GT(out, 0u);
  EXPECT_LT(out, static_cast<size_t>(kSent));
  const std::string text = reg.render();
  const std::string line =
      "verge_rule_engine_overflow_total " + std::to_string(kSent - static_cast<int>(out)) + "\n";
  EXPECT_NE(text.find(line), std::string::npos) << line << text;
  // Once drained, messages flow again.
  bus_.publish("in/a", R"({"n":-1})", 0, false);
  settle();
  EXPECT_EQ(bus_.payloads_on("out/q").back(), R"({"n":-1})");
  manager_.reset();  // before the registry it reports to
}

TEST(RuleSpecJson, RoundTripAndFieldErrors) {
  auto v = parse_json(
      R"({"id":"a-1","sql":"SELECT * FROM s","actions":[{"log":{}}],)"
      R"("options":{"dead_letter_topic":"dl/a","max_groups":5,"lateness_ms":100},"enabled":false})");
  ASSERT_TRUE(v.has_value());
  auto s = RuleSpec::from_value(*v);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->id, "a-1");
  EXPECT_EQ(s->limits.max_groups, 5u);
  EXPECT_EQ(s->limits.allowed_lateness_ms, 100);
  EXPECT_EQ(s->dead_letter_topic, "dl/a");
  EXPECT_FALSE(s->enabled);
  auto again = RuleSpec::from_value(s->to_value());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->to_value(), s->to_value());

  const std::pair<const char*, const char*> bad[] = {
      {R"({"sql":"SELECT 1"})", "id: missing"},
      {R"({"id":"a b","sql":"x"})", "id:"},
      {R"({"id":"a"})", "sql: missing"},
      {R"({"id":"a","sql":"x","actions":[{"a":{},"b":{}}]})", "actions[0]"},
      {R"({"id":"a","sql":"x","options":{"max_groups":-1}})", "options.max_groups"},
      {R"({"id":"a","sql":"x","options":{"nope":1}})", "options.nope"},
      {R"({"id":"a","sql":"x","options":{"dead_letter_topic":"a/#"}})", "dead_letter_topic"},
      {R"({"id":"a","sql":"x","colour":1})", "colour"},
      {R"([1])", "object"},
  };
  for (const auto& [json, part] : bad) {
    auto b = RuleSpec::from_value(*parse_json(json));
    ASSERT_FALSE(b.has_value()) << json;
    EXPECT_NE(b.error().message.find(part), std::string::npos) << json << ": " << b.error().message;
  }
}

}  // namespace
}  // namespace verge::rules
