#include "core/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"

namespace verge::metrics {
namespace {

void sort_labels(Labels& labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Appends `{k="v",...}` (plus an optional trailing le label); nothing when there are no labels.
void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels,
                   std::string_view value, std::string_view le = {}) {
  out += name;
  append_labels(out, labels, le);
  out += ' ';
  out += value;
  out += '\n';
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc{}) return "NaN";
  return {buf, end};
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// ---- Histogram ----

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::erase_if(bounds_, [](double b) { return std::isnan(b) || std::isinf(b); });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  // Bucket i counts bounds_[i-1] < v <= bounds_[i]; the last one is +Inf (and NaN).
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  if (std::isnan(v)) i = bounds_.size();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  s.count = acc;  // equals the +Inf bucket by construction
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---- Exposition ----

Exposition::Family& Exposition::family(std::string_view name, std::string_view help,
                                       std::string_view type) {
  auto it = index_.find(name);
  if (it != index_.end()) return families_[it->second];
  families_.push_back(Family{std::string(name), std::string(help), std::string(type), {}});
  index_.emplace(std::string(name), families_.size() - 1);
  return families_.back();
}

void Exposition::counter(std::string_view name, std::string_view help, const Labels& labels,
                         double value) {
  Labels sorted = labels;
  sort_labels(sorted);
  auto& f = family(name, help, "counter");
  if (f.type != "counter") {
    log_error("metrics: collector sample type clash", {{"name", name}});
    return;
  }
  append_sample(f.samples, name, sorted, format_value(value));
}

void Exposition::gauge(std::string_view name, std::string_view help, const Labels& labels,
                       double value) {
  Labels sorted = labels;
  sort_labels(sorted);
  auto& f = family(name, help, "gauge");
  if (f.type != "gauge") {
    log_error("metrics: collector sample type clash", {{"name", name}});
    return;
  }
  append_sample(f.samples, name, sorted, format_value(value));
}

// ---- Registry ----

Registry::Series* Registry::find_or_add(std::string_view name, std::string_view help, Type type,
                                        Labels& labels, bool& created) {
  sort_labels(labels);
  created = false;
  Family* fam = nullptr;
  for (auto& f : families_) {
    if (f->name == name) {
      fam = f.get();
      break;
    }
  }
  if (fam == nullptr) {
    families_.push_back(
        std::make_unique<Family>(Family{std::string(name), std::string(help), type, {}}));
    fam = families_.back().get();
  } else if (fam->type != type) {
    log_error("metrics: metric registered again with another type", {{"name", name}});
    detached_.push_back(std::make_unique<Series>());
    detached_.back()->labels = std::move(labels);
    created = true;
    return detached_.back().get();
  }
  for (auto& s : fam->series) {
    if (s->labels == labels) return s.get();
  }
  fam->series.push_back(std::make_unique<Series>());
  fam->series.back()->labels = std::move(labels);
  created = true;
  return fam->series.back().get();
}

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  bool created = false;
  Series* s = find_or_add(name, help, Type::Counter, labels, created);
  if (!s->counter) s->counter = std::make_unique<Counter>();
  return *s->counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  bool created = false;
  Series* s = find_or_add(name, help, Type::Gauge, labels, created);
  if (!s->gauge) s->gauge = std::make_unique<Gauge>();
  return *s->gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds, Labels labels) {
  std::lock_guard lock(mu_);
  bool created = false;
  Series* s = find_or_add(name, help, Type::Histogram, labels, created);
  if (!s->histogram) s->histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s->histogram;
}

void Registry::add_collector(std::function<void(Exposition&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::render() const {
  Exposition ex;
  std::vector<std::function<void(Exposition&)>> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) {
      switch (f->type) {
        case Type::Counter: {
          auto& out = ex.family(f->name, f->help, "counter");
          for (const auto& s : f->series) {
            append_sample(out.samples, f->name, s->labels, std::to_string(s->counter->value()));
          }
          break;
        }
        case Type::Gauge: {
          auto& out = ex.family(f->name, f->help, "gauge");
          for (const auto& s : f->series) {
            append_sample(out.samples, f->name, s->labels, format_value(s->gauge->value()));
          }
          break;
        }
        case Type::Histogram: {
          auto& out = ex.family(f->name, f->help, "histogram");
          const std::string bucket = f->name + "_bucket";
          for (const auto& s : f->series) {
            auto snap = s->histogram->snapshot();
            for (size_t i = 0; i < snap.bounds.size(); ++i) {
              append_sample(out.samples, bucket, s->labels, std::to_string(snap.cumulative[i]),
                            format_value(snap.bounds[i]));
            }
            append_sample(out.samples, bucket, s->labels, std::to_string(snap.count), "+Inf");
            append_sample(out.samples, f->name + "_sum", s->labels, format_value(snap.sum));
            append_sample(out.samples, f->name + "_count", s->labels, std::to_string(snap.count));
          }
          break;
        }
      }
    }
    collectors = collectors_;
  }
  // Collectors run outside the lock so they may look up or register metrics themselves.
  for (const auto& c : collectors) c(ex);

  std::string text;
  for (const auto& f : ex.families_) {
    if (f.samples.empty()) continue;
    append_header(text, f.name, f.help, f.type);
    text += f.samples;
  }
  return text;
}

// ---- process metrics ----

namespace {

std::string read_small_file(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fields of /proc/self/stat after the "(comm)" field; index 0 is field 3 (state).
std::vector<std::string> proc_stat_fields() {
  std::string stat = read_small_file("/proc/self/stat");
  auto pos = stat.rfind(')');
  std::vector<std::string> fields;
  if (pos == std::string::npos) return fields;
  std::istringstream in(stat.substr(pos + 1));
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

double process_start_time() {
  auto fields = proc_stat_fields();
  if (fields.size() < 20) return 0;
  double ticks = std::strtod(fields[19].c_str(), nullptr);  // field 22: starttime
  std::istringstream in(read_small_file("/proc/stat"));
  std::string line;
  double btime = 0;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) btime = std::strtod(line.c_str() + 6, nullptr);
  }
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return btime + ticks / static_cast<double>(hz);
}

}  // namespace

void add_process_metrics(Registry& reg) {
  const double start = process_start_time();
  reg.add_collector([start](Exposition& e) {
    const long page = ::sysconf(_SC_PAGESIZE);
    std::istringstream statm(read_small_file("/proc/self/statm"));
    double size_pages = 0;
    double resident_pages = 0;
    if (statm >> size_pages >> resident_pages) {
      e.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
              size_pages * static_cast<double>(page));
      e.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
              resident_pages * static_cast<double>(page));
    }
    std::error_code ec;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++fds;
    }
    if (!ec) e.gauge("process_open_fds", "Number of open file descriptors.", {}, fds);
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
      e.gauge("process_max_fds", "Maximum number of open file descriptors.", {},
              lim.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(lim.rlim_cur));
    }
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) {
      auto secs = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
      };
      e.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
                secs(ru.ru_utime) + secs(ru.ru_stime));
    }
    if (start > 0) {
      e.gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", {}, start);
    }
  });
}

}  // namespace verge::metrics
