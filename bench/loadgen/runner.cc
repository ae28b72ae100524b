#include "runner.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace loadgen {

namespace mq = verge::mqtt;

Runner::Runner(const Options& opts) : o(opts) {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  last_progress_ns = now_ns();
}

Runner::~Runner() {
  for (auto& c : conns) close_conn(c);
  if (epfd >= 0) ::close(epfd);
}

bool Runner::setup_pubsub() {
  const unsigned npub = o.topology == Topology::FanOut ? 1 : o.pubs;
  const unsigned nsub =
      o.topology == Topology::FanIn ? 1 : (o.topology == Topology::P2P ? npub : o.subs);
  fan = o.topology == Topology::FanOut ? nsub : 1;
  conns.resize(npub + nsub);
  const std::string tag = std::to_string(getpid());
  auto topic_for = [&](unsigned i) {
    switch (o.topology) {
      case Topology::FanIn:
        return std::string("bench/fanin");
      case Topology::FanOut:
        return std::string("bench/fanout");
      case Topology::P2P:
        break;
    }
    return "bench/p2p/" + std::to_string(i);
  };
  const uint64_t deadline = now_ns() + 60'000'000'000ULL;
  // Subscribers first, so nothing published is lost to a missing subscription.
  for (unsigned i = 0; i < nsub; ++i) {
    Conn& c = conns[i];
    c.index = i;
    c.role = Role::Subscriber;
    subs.push_back(i);
    if (!open_conn(c, o, "lg-s-" + tag + "-" + std::to_string(i), 60, 256 * 1024, epfd))
      return false;
    while (connacks + refused + closed < i + 1 - 64 && i >= 64 && now_ns() < deadline) poll(10);
  }
  while (subacks + refused + closed < nsub && now_ns() < deadline) poll(10);
  if (subacks < nsub) {
    std::fprintf(stderr, "verge_loadgen: only %llu of %u subscriptions acknowledged\n",
                 static_cast<unsigned long long>(subacks), nsub);
    return false;
  }
  for (unsigned i = 0; i < npub; ++i) {
    Conn& c = conns[nsub + i];
    c.index = nsub + i;
    c.role = Role::Publisher;
    pubs.push_back(c.index);
    make_publish_template(c, topic_for(i), o.qos, o.size, o.version);
    if (!open_conn(c, o, "lg-p-" + tag + "-" + std::to_string(i), 60, 64 * 1024, epfd))
      return false;
    c.out.reserve(static_cast<size_t>(o.batch) * c.tmpl.size() * 4);
    while (connacks + refused + closed < nsub + i + 1 - 64 && i >= 64 && now_ns() < deadline)
      poll(10);
  }
  while (connacks + refused + closed < nsub + npub && now_ns() < deadline) poll(10);
  if (connacks < nsub + npub) {
    std::fprintf(stderr, "verge_loadgen: only %llu of %u connections accepted\n",
                 static_cast<unsigned long long>(connacks), nsub + npub);
    return false;
  }
  const size_t msg_bytes = conns[pubs[0]].tmpl.size();
  window = std::max<uint64_t>(std::max<uint64_t>(256, 8 * fan), o.window_bytes / msg_bytes);
  last_progress_ns = now_ns();
  return true;
}

void Runner::on_closed(Conn& c) {
  if (c.state == State::Closed) return;
  ++closed;
  std::fprintf(stderr, "verge_loadgen: %s %u closed by the broker (state %d)\n",
               c.role == Role::Publisher ? "publisher"
                                         : (c.role == Role::Subscriber ? "subscriber" : "client"),
               c.index, static_cast<int>(c.state));
  epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
  close_conn(c);
}

void Runner::on_frame(Conn& c, const mq::FrameHeader& h, std::span<const uint8_t> frame) {
  switch (h.type()) {
    case mq::PacketType::Publish: {
      PublishView pv;
      if (!parse_publish(frame, h, o.version, pv)) {
        ++bad_frames;
        return;
      }
      ++received;
      ++c.received;
      if (pv.qos > 0) append_puback(c, pv.packet_id);
      if (record_latency && pv.payload.size() >= 8) {
        uint64_t ts = 0;
        std::memcpy(&ts, pv.payload.data(), sizeof ts);
        const uint64_t now = now_ns();
        latencies.record(now > ts ? now - ts : 0);
      }
      return;
    }
    case mq::PacketType::Puback:
      if (c.inflight > 0) --c.inflight;
      return;
    case mq::PacketType::Connack:
      // Fixed header (2) + flags + return/reason code.
      if (frame.size() >= 4 && frame[3] == 0) {
        ++connacks;
        c.state = State::Connected;
        if (c.role == Role::Subscriber) {
          const std::string filter = o.topology == Topology::FanIn ? "bench/fanin"
                                     : o.topology == Topology::FanOut
                                         ? "bench/fanout"
                                         : "bench/p2p/" + std::to_string(c.index);
          queue_subscribe(c, filter, o.qos, o.version);
          c.state = State::Subscribing;
        } else {
          c.state = State::Ready;
        }
      } else {
        ++refused;
        std::fprintf(stderr, "verge_loadgen: CONNACK refused (code %d)\n",
                     frame.size() >= 4 ? frame[3] : -1);
      }
      return;
    case mq::PacketType::Suback: {
      const uint8_t code = frame.empty() ? 0x80 : frame.back();
      if (code >= 0x80) {
        ++refused;
        std::fprintf(stderr, "verge_loadgen: SUBACK refused (code 0x%02x)\n", code);
      } else {
        ++subacks;
        c.state = State::Ready;
      }
      return;
    }
    case mq::PacketType::Disconnect:
      std::fprintf(stderr, "verge_loadgen: DISCONNECT from the broker (reason 0x%02x)\n",
                   frame.size() > 2 ? frame[2] : 0);
      return;
    default:
      return;
  }
}

void Runner::poll(int timeout_ms) {
  epoll_event evs[512];
  const int n = epoll_wait(epfd, evs, 512, timeout_ms);
  for (int i = 0; i < n; ++i) {
    Conn& c = conns[evs[i].data.u32];
    if (c.state == State::Closed) continue;
    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      const bool ok = read_frames(
          c, [&](const mq::FrameHeader& h, std::span<const uint8_t> f) { on_frame(c, h, f); });
      if (!ok) {
        on_closed(c);
        continue;
      }
    }
    if (c.pending() > 0 && !flush(c, epfd)) on_closed(c);
  }
}

void Runner::pump_saturate(uint64_t now) {
  if (received != last_received_) {
    last_received_ = received;
    last_progress_ns = now;
  }
  const int64_t owed = static_cast<int64_t>(expected) - static_cast<int64_t>(received + lost);
  // Messages written off after a stall arrived after all (the broker was only slow): take them
  // back.
  if (owed < 0) lost -= std::min(lost, static_cast<uint64_t>(-owed));
  const uint64_t outstanding = owed > 0 ? static_cast<uint64_t>(owed) : 0;
  if (outstanding == 0) last_progress_ns = now;
  // Refill only when a quarter of the window is free, so writes stay batched (a refill per
  // received message would cost the load generator a write(2) per message).
  if (outstanding + std::max<uint64_t>(window / 4, fan) > window) {
    // Nothing arrives although messages are owed: the broker dropped them (QoS 0 overload).
    if (now - last_progress_ns > 100'000'000ULL) {
      lost += outstanding;
      ++stalls;
      last_progress_ns = now;
    }
    return;
  }
  uint64_t budget = window - outstanding;
  const size_t n = pubs.size();
  const uint64_t min_chunk = std::max(1u, std::min(o.batch, o.pub_window / 2));
  for (size_t k = 0; k < n && budget >= fan; ++k) {
    Conn& p = conns[pubs[(rr_ + k) % n]];
    if (p.state != State::Ready || p.pending() > 0) continue;  // socket not drained: broker busy
    uint64_t can = std::min<uint64_t>(o.batch, budget / fan);
    if (o.qos > 0) {
      const uint64_t room = o.pub_window - std::min(o.pub_window, p.inflight);
      if (room < min_chunk) continue;  // wait for more PUBACKs, then send a batch
      can = std::min(can, room);
    }
    if (can == 0) continue;
    append_publishes(p, static_cast<unsigned>(can), o.qos, now);
    expected += can * fan;
    budget -= can * fan;
    if (!flush(p, epfd)) on_closed(p);
  }
  rr_ = (rr_ + 1) % n;
}

void Runner::pump_rate(uint64_t now, uint64_t start) {
  const double per_pub = o.rate / static_cast<double>(pubs.size());
  const uint64_t target = static_cast<uint64_t>(static_cast<double>(now - start) / 1e9 * per_pub);
  for (uint32_t idx : pubs) {
    Conn& p = conns[idx];
    if (p.state != State::Ready || target <= p.sent || p.pending() > (1u << 20)) continue;
    uint64_t due = target - p.sent;
    if (o.qos > 0) due = std::min<uint64_t>(due, o.pub_window - std::min(o.pub_window, p.inflight));
    if (due == 0) continue;
    append_publishes(p, static_cast<unsigned>(due), o.qos, now);
    expected += due * fan;
    if (!flush(p, epfd)) on_closed(p);
  }
}

}  // namespace loadgen
