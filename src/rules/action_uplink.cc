// uplink: appends the row, with its rule id and time, to a named uplink stream for the hub.
// The log confirms durability on its writer thread; the confirmation is posted to the engine
// loop, so the counters are only touched on the engine thread. Appends awaiting confirmation
// are bounded (max_pending): a disk slower than the rules drops rows, counted, instead of
// growing the log's queue without end.
#include <memory>
#include <mutex>

#include "net/event_loop.h"
#include "rules/action_internal.h"
#include "rules/uplink.h"

namespace verge::rules {

namespace {

class UplinkAction final : public Action {
 public:
  UplinkAction(UplinkStreams& streams, net::EventLoop& loop, std::string stream, size_t max_pending)
      : streams_(streams),
        link_(std::make_shared<Link>(this, &loop)),
        stream_(std::move(stream)),
        max_pending_(max_pending) {}

  ~UplinkAction() override {
    // Confirmations still in the log's queue must not post to a loop that may be gone by then
    // (the streams outlive the rule engine) nor reach this action.
    std::lock_guard lock(link_->mu);
    link_->action = nullptr;
    link_->loop = nullptr;
  }

  std::string_view kind() const override { return "uplink"; }

  void emit(const Value& row, std::string_view rule_id, int64_t now_ms) override {
    if (pending_ >= max_pending_) {
      ++counters_.dropped;
      return;
    }
    ++pending_;
    streams_.append(stream_, row_envelope(row, rule_id, now_ms), now_ms,
                    [link = link_](Result<void> r) {
                      // Writer thread (or this thread when refused): hop to the engine loop.
                      std::lock_guard lock(link->mu);
                      if (link->loop == nullptr) return;
                      link->loop->post([link, r = std::move(r)] {
                        std::lock_guard again(link->mu);
                        if (link->action != nullptr) link->action->done(r);
                      });
                    });
  }

 private:
  // What a confirmation needs, cut off when the action goes.
  struct Link {
    Link(UplinkAction* a, net::EventLoop* l) : action(a), loop(l) {}
    std::mutex mu;
    UplinkAction* action;  // guarded by mu
    net::EventLoop* loop;  // guarded by mu
  };

  void done(const Result<void>& r) {
    --pending_;
    if (r) {
      ++counters_.sent;
    } else {
      ++counters_.failed;
      counters_.last_error = r.error().message;
    }
  }

  UplinkStreams& streams_;
  std::shared_ptr<Link> link_;
  std::string stream_;
  size_t max_pending_;
  size_t pending_ = 0;  // appends awaiting their confirmation
};

}  // namespace

ActionResult make_uplink_action(ActionConfig& cfg, const ActionServices& services) {
  auto stream = cfg.string("stream");
  if (!stream) return unexpected(stream.error());
  auto max_pending = cfg.opt_int("max_pending", 1, 10'000'000);
  if (!max_pending) return unexpected(max_pending.error());
  if (services.uplink == nullptr) {
    return unexpected(Error{"uplink action: no uplink streams on this node"});
  }
  if (services.loop == nullptr) return unexpected(Error{"uplink action: no engine loop"});
  // Opens the stream now: a bad name or an unusable directory fails the rule's creation.
  if (auto log = services.uplink->log(*stream); !log) {
    return unexpected(cfg.error("stream", log.error().message));
  }
  return std::unique_ptr<Action>(
      std::make_unique<UplinkAction>(*services.uplink, *services.loop, std::move(*stream),
                                     static_cast<size_t>(max_pending->value_or(10'000))));
}

}  // namespace verge::rules
