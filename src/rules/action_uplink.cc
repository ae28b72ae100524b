// uplink: appends the row, with its rule id and time, to a named uplink stream for the hub.
// The log confirms durability on its writer thread; the confirmation is posted to the engine
// loop, so the counters are only touched on the engine thread. Appends awaiting confirmation
// are bounded (max_pending): a disk slower than the rules drops rows, counted, instead of
// growing the log's queue without end.
#include "net/event_loop.h"
#include "rules/action_internal.h"
#include "rules/uplink.h"

namespace verge::rules {

namespace {

class UplinkAction final : public Action {
 public:
  UplinkAction(UplinkStreams& streams, net::EventLoop& loop, std::string stream, size_t max_pending)
      : streams_(streams), loop_(loop), stream_(std::move(stream)), max_pending_(max_pending) {}

  std::string_view kind() const override { return "uplink"; }

  void emit(const Value& row, std::string_view rule_id, int64_t now_ms) override {
    if (*pending_ >= max_pending_) {
      ++counters_.dropped;
      return;
    }
    ++*pending_;
    std::weak_ptr<size_t> alive = pending_;
    net::EventLoop* loop = &loop_;
    streams_.append(stream_, row_envelope(row, rule_id, now_ms), now_ms,
                    [this, alive, loop](Result<void> r) {
                      // Writer thread (or this thread when refused): hop to the engine loop.
                      loop->post([this, alive, r = std::move(r)] {
                        if (alive.expired()) return;
                        --*pending_;
                        if (r) {
                          ++counters_.sent;
                        } else {
                          ++counters_.failed;
                          counters_.last_error = r.error().message;
                        }
                      });
                    });
  }

 private:
  UplinkStreams& streams_;
  net::EventLoop& loop_;
  std::string stream_;
  size_t max_pending_;
  std::shared_ptr<size_t> pending_ = std::make_shared<size_t>(0);
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
