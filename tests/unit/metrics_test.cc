#include "core/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace verge::metrics {
namespace {

TEST(Metrics, CounterWithLabelsRendersExactly) {
  Registry reg;
  auto& a =
      reg.counter("verge_packets_total", "Packets handled.", {{"dir", "in"}, {"kind", "publish"}});
  auto& b =
      reg.counter("verge_packets_total", "Packets handled.", {{"kind", "publish"}, {"dir", "out"}});
  a.inc();
  a.inc(4);
  b.inc(2);
  EXPECT_EQ(a.value(), 5u);
  EXPECT_EQ(reg.render(),
            "# HELP verge_packets_total Packets handled.\n"
            "# TYPE verge_packets_total counter\n"
            "verge_packets_total{dir=\"in\",kind=\"publish\"} 5\n"
            "verge_packets_total{dir=\"out\",kind=\"publish\"} 2\n");
}

TEST(Metrics, SameNameAndLabelsReturnSameObject) {
  Registry reg;
  auto& a = reg.counter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  auto& b = reg.counter("c_total", "h", {{"y", "2"}, {"x", "1"}});
  auto& c = reg.counter("c_total", "h", {{"x", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  // References stay valid while many more series are added.
  for (int i = 0; i < 1000; ++i) reg.counter("c_total", "h", {{"x", std::to_string(i + 10)}});
  a.inc();
  EXPECT_EQ(b.value(), 1u);
}

TEST(Metrics, GaugeSetAddAndRender) {
  Registry reg;
  auto& g = reg.gauge("verge_sessions", "Sessions.");
  g.set(3);
  g.add(1.5);
  g.sub(0.5);
  EXPECT_DOUBLE_EQ(g.value(), 4.0);
  auto& t = reg.gauge("verge_temp", "Temp.", {{"site", "a\"b\\c\nd"}});
  t.set(-0.25);
  EXPECT_EQ(reg.render(),
            "# HELP verge_sessions Sessions.\n"
            "# TYPE verge_sessions gauge\n"
            "verge_sessions 4\n"
            "# HELP verge_temp Temp.\n"
            "# TYPE verge_temp gauge\n"
            "verge_temp{site=\"a\\\"b\\\\c\\nd\"} -0.25\n");
}

TEST(Metrics, HistogramRendersCumulativeBuckets) {
  Registry reg;
  auto& h = reg.histogram("verge_latency_seconds", "Latency.", {0.5, 0.1, 1}, {{"op", "pub"}});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.3);
  h.observe(2);
  EXPECT_EQ(reg.render(),
            "# HELP verge_latency_seconds Latency.\n"
            "# TYPE verge_latency_seconds histogram\n"
            "verge_latency_seconds_bucket{op=\"pub\",le=\"0.1\"} 2\n"
            "verge_latency_seconds_bucket{op=\"pub\",le=\"0.5\"} 3\n"
            "verge_latency_seconds_bucket{op=\"pub\",le=\"1\"} 3\n"
            "verge_latency_seconds_bucket{op=\"pub\",le=\"+Inf\"} 4\n"
            "verge_latency_seconds_sum{op=\"pub\"} 2.45\n"
            "verge_latency_seconds_count{op=\"pub\"} 4\n");
}

TEST(Metrics, HistogramWithoutLabels) {
  Registry reg;
  auto& h = reg.histogram("h", "H.", {1});
  h.observe(1);
  EXPECT_EQ(reg.render(),
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 1\nh_count 1\n");
}

TEST(Metrics, CollectorsAddFamiliesAtScrapeTime) {
  Registry reg;
  reg.counter("verge_msgs_total", "Messages.", {{"t", "0"}}).inc(7);
  int scrapes = 0;
  reg.add_collector([&scrapes](Exposition& e) {
    ++scrapes;
    // Joins the registered family: HELP/TYPE appear once.
    e.counter("verge_msgs_total", "Messages.", {{"t", "1"}}, 3);
    e.gauge("verge_queue_depth", "Queued.", {{"q", "a"}}, 1);
    e.gauge("verge_queue_depth", "Queued.", {{"q", "b"}}, scrapes);
  });
  std::string expected =
      "# HELP verge_msgs_total Messages.\n"
      "# TYPE verge_msgs_total counter\n"
      "verge_msgs_total{t=\"0\"} 7\n"
      "verge_msgs_total{t=\"1\"} 3\n"
      "# HELP verge_queue_depth Queued.\n"
      "# TYPE verge_queue_depth gauge\n"
      "verge_queue_depth{q=\"a\"} 1\n"
      "verge_queue_depth{q=\"b\"} 1\n";
  EXPECT_EQ(reg.render(), expected);
  EXPECT_NE(reg.render().find("verge_queue_depth{q=\"b\"} 2\n"), std::string::npos);
  EXPECT_EQ(scrapes, 2);
}

TEST(Metrics, TypeClashReturnsDetachedObject) {
  Registry reg;
  reg.counter("x", "X.").inc();
  auto& g = reg.gauge("x", "X.");  // logged, not rendered
  g.set(42);
  EXPECT_EQ(reg.render(), "# HELP x X.\n# TYPE x counter\nx 1\n");
}

TEST(Metrics, HelpIsEscaped) {
  Registry reg;
  reg.gauge("g", "line1\nback\\slash").set(1);
  EXPECT_EQ(reg.render(), "# HELP g line1\\nback\\\\slash\n# TYPE g gauge\ng 1\n");
}

TEST(Metrics, FormatValue) {
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Registry reg;
  auto& c = reg.counter("n_total", "N.");
  auto& h = reg.histogram("lat", "L.", {1, 2});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(1.5);
      }
    });
  }
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(reg.render().empty());
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  auto snap = h.snapshot();
  EXPECT_EQ(snap.count, 40000u);
  EXPECT_EQ(snap.cumulative[0], 0u);
  EXPECT_EQ(snap.cumulative[1], 40000u);
  EXPECT_DOUBLE_EQ(snap.sum, 60000.0);
}

TEST(Metrics, ProcessMetrics) {
  Registry reg;
  add_process_metrics(reg);
  std::string text = reg.render();
  for (const char* name :
       {"process_resident_memory_bytes ", "process_open_fds ", "process_cpu_seconds_total ",
        "process_start_time_seconds ", "# TYPE process_cpu_seconds_total counter\n"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
  auto pos = text.find("\nprocess_start_time_seconds ");
  ASSERT_NE(pos, std::string::npos);
  double start = std::stod(text.substr(pos + 28));
  EXPECT_GT(start, 1.6e9);  // after 2020
  EXPECT_LT(start, 1e10);
}

}  // namespace
}  // namespace verge::metrics
