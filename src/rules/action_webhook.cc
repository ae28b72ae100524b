// webhook: an HTTP request per row, asynchronous on the engine loop. emit() only renders the
// body and queues it; at most kMaxInFlight requests of one action run at a time. A 2xx answer
// is "sent"; another status, a connection failure or a timeout is retried after backoff_ms,
// doubled per attempt (capped at kMaxBackoffMs), up to `retries` times, then "failed". Rows
// waiting (queued, in flight or in back-off) are bounded by max_queue: beyond it a row is
// "dropped". Nothing here blocks: a dead endpoint costs a bounded queue, never engine time.
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>

#include "core/log.h"
#include "net/http_client.h"
#include "net/timer_queue.h"
#include "rules/action_internal.h"

namespace verge::rules {

namespace {

constexpr size_t kMaxInFlight = 4;
constexpr uint64_t kMaxBackoffMs = 60'000;

struct WebhookConfig {
  std::string method = "POST";
  net::HttpUrl url;
  std::vector<std::pair<std::string, std::string>> headers;
  Template body = Template::whole_row();
  uint64_t timeout_ms = 5000;
  int retries = 3;
  uint64_t backoff_ms = 1000;
  size_t max_queue = 1000;
};

class WebhookAction final : public Action {
 public:
  WebhookAction(net::EventLoop& loop, WebhookConfig cfg)
      : cfg_(std::move(cfg)), client_(loop), timers_(loop) {}

  std::string_view kind() const override { return "webhook"; }

  void emit(const Value& row, std::string_view /*rule_id*/, int64_t /*now_ms*/) override {
    if (waiting_ >= cfg_.max_queue) {
      ++counters_.dropped;
      return;
    }
    auto body = cfg_.body.render(row);
    ++waiting_;
    queue_.push_back(Job{body ? std::move(*body) : std::string(), 0});
    pump();
  }

 private:
  struct Job {
    std::string body;
    int attempt = 0;  // requests made so far
  };

  void pump() {
    while (in_flight_ < kMaxInFlight && !queue_.empty()) {
      Job job = std::move(queue_.front());
      queue_.pop_front();
      send(std::move(job));
    }
  }

  void send(Job job) {
    ++in_flight_;
    net::HttpClientRequest req;
    req.method = cfg_.method;
    req.url = cfg_.url;
    req.headers = cfg_.headers;
    req.body = job.body;  // kept in the job for a retry
    req.timeout_ms = cfg_.timeout_ms;
    ++job.attempt;
    // The client (a member) never calls back after its destruction, so `this` is safe here.
    client_.request(
        std::move(req), [this, job = std::move(job)](Result<net::HttpClientResponse> r) mutable {
          --in_flight_;
          std::string why;
          if (r && r->status >= 200 && r->status < 300) {
            --waiting_;
            ++counters_.sent;
          } else {
            why = r ? "HTTP status " + std::to_string(r->status) : r.error().message;
            if (job.attempt > cfg_.retries) {
              --waiting_;
              ++counters_.failed;
              counters_.last_error = std::move(why);
              warn_failed();
            } else {
              ++counters_.retried;
              counters_.last_error = std::move(why);
              const uint64_t delay =
                  std::min(kMaxBackoffMs, cfg_.backoff_ms << std::min(job.attempt - 1, 16));
              timers_.after(delay, [this, job = std::move(job)]() mutable {
                queue_.push_front(std::move(job));  // a retry goes before newer rows
                pump();
              });
            }
          }
          pump();
        });
  }

  // An operator learns of a dead endpoint from the log too, at most once a minute per action
  // (the counters carry the exact numbers).
  void warn_failed() {
    ++failed_unlogged_;
    const auto now = std::chrono::steady_clock::now();
    if (last_warn_ && now - *last_warn_ < std::chrono::minutes(1)) return;
    last_warn_ = now;
    log_warn("webhook rows failed after retries",
             {{"host", cfg_.url.host},
              {"path",
               cfg_.url.target.substr(0, cfg_.url.target.find('?'))},  // a query may hold a token
              {"rows", failed_unlogged_},
              {"error", counters_.last_error}});
    failed_unlogged_ = 0;
  }

  WebhookConfig cfg_;
  std::optional<std::chrono::steady_clock::time_point> last_warn_;
  uint64_t failed_unlogged_ = 0;
  net::HttpClient client_;
  net::TimerQueue timers_;
  std::deque<Job> queue_;
  size_t in_flight_ = 0;
  size_t waiting_ = 0;  // queued + in flight + in back-off: what max_queue bounds
};

}  // namespace

ActionResult make_webhook_action(ActionConfig& cfg, const ActionServices& services) {
  WebhookConfig wc;
  auto url = cfg.string("url");
  if (!url) return unexpected(url.error());
  auto parsed = net::parse_http_url(*url);
  if (!parsed) return unexpected(cfg.error("url", parsed.error().message));
  wc.url = std::move(*parsed);
  auto method = cfg.opt_string("method");
  if (!method) return unexpected(method.error());
  if (method->has_value()) {
    const std::string& m = **method;
    if (m != "POST" && m != "PUT" && m != "PATCH" && m != "GET" && m != "DELETE") {
      return unexpected(cfg.error("method", "expected POST, PUT, PATCH, GET or DELETE"));
    }
    wc.method = m;
  }
  if (const Value* headers = cfg.get("headers")) {
    if (!headers->is_object()) return unexpected(cfg.error("headers", "expected an object"));
    for (const auto& [name, value] : headers->as_object()) {
      const std::string field = "headers." + name;
      if (!value.is_string()) return unexpected(cfg.error(field, "expected a string"));
      const bool bad_name = name.empty() || name.find_first_of(" \t\r\n:") != std::string::npos;
      if (bad_name || value.as_string().find_first_of("\r\n") != std::string::npos) {
        return unexpected(cfg.error(field, "names and values must not hold CR, LF (or ':')"));
      }
      wc.headers.emplace_back(name, value.as_string());
    }
  }
  if (auto body = cfg.opt_tmpl("body"); !body) {
    return unexpected(body.error());
  } else if (body->has_value()) {
    wc.body = std::move(**body);
  }
  auto timeout = cfg.opt_int("timeout_ms", 1, 600'000);
  if (!timeout) return unexpected(timeout.error());
  auto retries = cfg.opt_int("retries", 0, 100);
  if (!retries) return unexpected(retries.error());
  auto backoff = cfg.opt_int("backoff_ms", 0, 600'000);
  if (!backoff) return unexpected(backoff.error());
  auto max_queue = cfg.opt_int("max_queue", 1, 1'000'000);
  if (!max_queue) return unexpected(max_queue.error());
  wc.timeout_ms = static_cast<uint64_t>(timeout->value_or(5000));
  wc.retries = static_cast<int>(retries->value_or(3));
  wc.backoff_ms = static_cast<uint64_t>(backoff->value_or(1000));
  wc.max_queue = static_cast<size_t>(max_queue->value_or(1000));
  if (services.loop == nullptr) return unexpected(Error{"webhook action: no engine loop"});
  bool has_content_type = false;
  for (const auto& [name, value] : wc.headers) {
    if (name.size() == 12 && strncasecmp(name.c_str(), "content-type", 12) == 0) {
      has_content_type = true;
    }
  }
  if (!has_content_type) wc.headers.emplace_back("Content-Type", "application/json");
  return std::unique_ptr<Action>(std::make_unique<WebhookAction>(*services.loop, std::move(wc)));
}

}  // namespace verge::rules
