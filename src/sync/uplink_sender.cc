// The uplink sender: batches from the stream logs, windows, acks, cursor commits, priorities,
// quarantine and gap accounting (uplink_sender.h).
#include "sync/uplink_sender.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/json.h"
#include "core/log.h"
#include "sync/batch.h"

namespace verge::sync {

namespace {

// Bytes a record adds to a batch body besides its payload: two varints (delta ts and length).
constexpr size_t kRecordOverhead = 20;
constexpr uint64_t kRateWindowMs = 10'000;
constexpr uint64_t kRateSampleMs = 500;
const std::string kCursor = "hub";

}  // namespace

struct UplinkSender::Stream {
  std::string name;
  int priority = 100;
  store::SegmentLog* log = nullptr;

  uint64_t committed = 0;  // durable cursor: acknowledged and committed
  uint64_t hub_next = 0;   // acknowledged by the hub (committed within kCommitIntervalMs)
  // The highest `next` the hub itself acknowledged in this run: a lower bound of the hub's next.
  // hub_next may be past it (records skipped here with nothing in flight move hub_next, and the
  // cursor, without the hub knowing), so it starts at 0, not at the cursor.
  uint64_t hub_acked = 0;
  uint64_t next_read = 0;  // the next record to put in a batch
  uint64_t high_sent = 0;  // end of the furthest batch ever sent
  uint64_t high_read = 0;  // every record below was looked at (quarantine is counted once)
  uint64_t gap_counted_until = 0;
  uint64_t resend_until = 0;  // batches below this were sent before: they count as resent
  uint64_t log_next = 0;      // the log's next_offset at the last pump

  // The batch being filled: payloads back to back in `arena`.
  struct Rec {
    int64_t ts_ms;
    size_t pos, len;
  };
  uint64_t build_first = 0;
  std::vector<Rec> build;
  std::string arena;
  size_t build_bytes = 0;
  uint64_t build_since_ms = 0;
  bool build_must_go = false;  // full, or cut by a gap or an oversized record

  struct Inflight {
    uint64_t first, end, sent_ms;
  };
  std::deque<Inflight> inflight;

  uint32_t acks_since_commit = 0;
  uint64_t last_commit_ms = 0;
  bool commit_failing = false, read_failing = false;
  std::deque<std::pair<uint64_t, uint64_t>> rate_samples;  // (monotonic ms, records_acked)

  uint64_t records_sent = 0, batches_sent = 0, records_acked = 0, records_resent = 0;
  uint64_t quarantined = 0, dropped = 0, bytes_sent = 0;

  void clear_build() {
    build.clear();
    arena.clear();
    build_bytes = 0;
    build_must_go = false;
  }
};

Value UplinkStreamStats::to_value() const {
  return Value(ValueObject{
      {"stream", stream},
      {"priority", static_cast<int64_t>(priority)},
      {"next_seq", static_cast<int64_t>(next_offset)},
      {"acked_seq", static_cast<int64_t>(acked)},
      {"backlog_records", static_cast<int64_t>(backlog_records)},
      {"backlog_bytes", static_cast<int64_t>(backlog_bytes)},
      {"oldest_age_ms", oldest_age_ms},
      {"records_sent", static_cast<int64_t>(records_sent)},
      {"batches_sent", static_cast<int64_t>(batches_sent)},
      {"records_acked", static_cast<int64_t>(records_acked)},
      {"records_resent", static_cast<int64_t>(records_resent)},
      {"quarantined", static_cast<int64_t>(quarantined)},
      {"dropped", static_cast<int64_t>(dropped)},
      {"bytes_produced", static_cast<int64_t>(bytes_produced)},
      {"bytes_sent", static_cast<int64_t>(bytes_sent)},
      {"inflight_batches", static_cast<int64_t>(inflight_batches)},
      {"drain_rate", drain_rate},
      {"eta_s", eta_s < 0 ? Value() : Value(eta_s)},
  });
}

UplinkSender::UplinkSender(UplinkSendOptions options, UplinkTransport& transport,
                           std::string quarantine_path)
    : options_(std::move(options)),
      transport_(transport),
      quarantine_path_(std::move(quarantine_path)) {
  options_.batch_records = std::max<size_t>(options_.batch_records, 1);
  options_.window = std::max<size_t>(options_.window, 1);
}

UplinkSender::~UplinkSender() = default;

void UplinkSender::add_stream(const std::string& name, store::SegmentLog* log) {
  std::lock_guard lock(mu_);
  if (streams_.count(name) != 0 || log == nullptr) return;
  auto s = std::make_unique<Stream>();
  s->name = name;
  auto p = options_.priority.find(name);
  s->priority = p == options_.priority.end() ? 100 : p->second;
  s->log = log;
  const uint64_t cursor = log->cursor(kCursor);
  s->committed = s->hub_next = s->next_read = s->high_sent = s->high_read = cursor;
  s->gap_counted_until = cursor;
  s->log_next = log->stats().next_offset;
  streams_.emplace(name, std::move(s));
}

bool UplinkSender::has_stream(std::string_view name) const {
  std::lock_guard lock(mu_);
  return streams_.count(name) != 0;
}

bool UplinkSender::has_unsent(const Stream& s) const {
  return !s.build.empty() || s.log_next > s.next_read;
}

void UplinkSender::pump(uint64_t now_ms) {
  std::lock_guard lock(mu_);
  std::vector<Stream*> order;
  order.reserve(streams_.size());
  for (auto& [name, s] : streams_) {
    s->log_next = s->log->stats().next_offset;
    order.push_back(s.get());
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Stream* a, const Stream* b) { return a->priority < b->priority; });
  // A stream waits while a more urgent one has records it has not sent (alarms before bulk).
  int blocked_below = std::numeric_limits<int>::max();
  for (Stream* s : order) {
    if (s->priority > blocked_below) continue;
    if (transport_.ready()) fill_and_send(*s, now_ms);
    if (has_unsent(*s)) blocked_below = std::min(blocked_below, s->priority);
  }
}

void UplinkSender::fill_and_send(Stream& s, uint64_t now_ms) {
  while (s.inflight.size() < options_.window && transport_.ready()) {
    const bool must_go = fill(s, now_ms);
    if (s.build.empty()) break;
    if (!must_go && now_ms < s.build_since_ms + options_.linger_ms) break;
    // Records before this batch were skipped here (retention, quarantine) after batches still in
    // flight: it waits until they are acknowledged. Its "gap before" tells the hub that every
    // record from the hub's next up to it is gone, which holds only once the hub has them all.
    if (!s.inflight.empty() && s.build_first > s.inflight.back().end) break;
    send_building(s, now_ms);
  }
  // Records skipped (quarantined, or dropped by retention) below the next read need no ack: once
  // nothing before them waits for the hub, the cursor may pass them.
  if (s.inflight.empty() && s.build.empty() && s.next_read > s.hub_next) {
    s.hub_next = s.next_read;
    ++s.acks_since_commit;
    maybe_commit(s, now_ms, false);
  }
}

bool UplinkSender::fill(Stream& s, uint64_t now_ms) {
  if (s.build_must_go) return true;
  const size_t room = options_.batch_records - s.build.size();
  if (room == 0) return true;
  if (s.log_next <= s.next_read) return false;
  bool must_go = false;
  auto r = s.log->read(s.next_read, room, [&](const store::LogRecord& rec) {
    if (rec.offset > s.next_read) {
      // Retention deleted records before they were sent: they are lost, counted once.
      const uint64_t from = std::max(s.next_read, s.gap_counted_until);
      if (rec.offset > from) {
        s.dropped += rec.offset - from;
        log_warn("uplink records dropped by retention before they were sent",
                 {{"stream", s.name}, {"from", from}, {"to", rec.offset}});
      }
      s.gap_counted_until = std::max(s.gap_counted_until, rec.offset);
      if (!s.build.empty()) {  // sequences within a batch are dense: cut here
        must_go = true;
        return false;
      }
      s.next_read = rec.offset;
    }
    const size_t need = rec.payload.size() + kRecordOverhead;
    if (need > options_.batch_bytes) {
      if (!s.build.empty()) {
        must_go = true;
        return false;
      }
      if (rec.offset >= s.high_read) {
        quarantine(s, rec,
                   "record of " + std::to_string(rec.payload.size()) +
                       " bytes is larger than a batch (batch_bytes " +
                       std::to_string(options_.batch_bytes) + ")");
      }
      s.next_read = rec.offset + 1;
      s.high_read = std::max(s.high_read, s.next_read);
      return true;
    }
    if (!s.build.empty() && s.build_bytes + need > options_.batch_bytes) {
      must_go = true;
      return false;
    }
    if (s.build.empty()) {
      s.build_first = rec.offset;
      s.build_since_ms = now_ms;
    }
    s.build.push_back({rec.timestamp_ms, s.arena.size(), rec.payload.size()});
    s.arena.append(rec.payload);
    s.build_bytes += need;
    s.next_read = rec.offset + 1;
    s.high_read = std::max(s.high_read, s.next_read);
    return true;
  });
  if (!r) {
    if (!s.read_failing) {
      log_error("uplink stream cannot be read", {{"stream", s.name}, {"error", r.error().message}});
    }
    s.read_failing = true;
    return false;
  }
  s.read_failing = false;
  if (s.build.size() >= options_.batch_records) must_go = true;
  s.build_must_go = must_go;
  return must_go;
}

void UplinkSender::send_building(Stream& s, uint64_t now_ms) {
  std::vector<BatchRecordIn> recs;
  recs.reserve(s.build.size());
  for (const auto& r : s.build) {
    recs.push_back({r.ts_ms, std::string_view(s.arena).substr(r.pos, r.len)});
  }
  std::string out;
  const uint64_t first = s.build_first;
  const uint64_t count = recs.size();
  const uint64_t end = first + count;
  BatchEncodeOptions enc;
  enc.zstd_level = options_.zstd_level;
  // The hub stores a batch starting above its next sequence only with "gap before", which says
  // every record from the hub's next up to `first` is gone here. A batch after a hole is sent
  // with nothing in flight (fill_and_send), so the records between what the hub acknowledged and
  // `first` were acknowledged or skipped here (dropped by retention, quarantined, or below the
  // cursor we started from: the first batch after a start from a cursor above 0 has the flag).
  // Batches following one in flight never have it: if that one is lost or not stored, the hub
  // refuses them until the ack timeout resends from its next.
  enc.gap_before = s.inflight.empty() && first > s.hub_acked;
  encode_batch(first, recs, enc, out);
  if (first < s.resend_until) s.records_resent += std::min(end, s.resend_until) - first;
  s.records_sent += count;
  ++s.batches_sent;
  s.bytes_sent += out.size();
  s.inflight.push_back({first, end, now_ms});
  s.high_sent = std::max(s.high_sent, end);
  s.clear_build();
  transport_.send(s.name, first, count, std::move(out));
}

void UplinkSender::on_ack(std::string_view stream, uint64_t next, uint64_t now_ms) {
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream);
    if (it == streams_.end()) return;
    Stream& s = *it->second;
    const uint64_t log_next = s.log->stats().next_offset;
    s.hub_acked = std::max(s.hub_acked, std::min(next, log_next));
    if (next <= s.hub_next) return;  // late or repeated
    if (next > log_next) {
      // The hub holds more than this log ever had (a node whose data was wiped): never commit
      // past the log's end.
      log_warn("hub acknowledged past the uplink log's end",
               {{"stream", s.name}, {"next", next}, {"log_next", log_next}});
      next = log_next;
      if (next <= s.hub_next) return;
    }
    s.hub_next = next;
    while (!s.inflight.empty() && s.inflight.front().end <= next) s.inflight.pop_front();
    if (s.next_read < next) {  // the hub already had records not sent in this run
      s.clear_build();
      s.next_read = next;
    }
    ++s.acks_since_commit;
    maybe_commit(s, now_ms, false);
  }
  pump(now_ms);
}

void UplinkSender::maybe_commit(Stream& s, uint64_t now_ms, bool force) {
  if (s.hub_next <= s.committed) return;
  const bool due = force || s.acks_since_commit >= kCommitEveryAcks ||
                   now_ms >= s.last_commit_ms + kCommitIntervalMs;
  if (!due) return;
  auto r = s.log->commit_cursor(kCursor, s.hub_next);
  if (!r) {
    if (!s.commit_failing) {
      log_error("uplink cursor commit failed", {{"stream", s.name}, {"error", r.error().message}});
    }
    s.commit_failing = true;
    return;  // retried at the next tick; nothing counts as acknowledged until it is durable
  }
  s.commit_failing = false;
  s.records_acked += s.hub_next - s.committed;
  s.committed = s.hub_next;
  s.acks_since_commit = 0;
  s.last_commit_ms = now_ms;
}

void UplinkSender::flush_commits(uint64_t now_ms) {
  std::lock_guard lock(mu_);
  for (auto& [name, s] : streams_) maybe_commit(*s, now_ms, true);
}

void UplinkSender::rewind(Stream& s) {
  s.resend_until = std::max(s.resend_until, s.high_sent);
  s.inflight.clear();
  s.clear_build();
  s.next_read = s.hub_next;
}

void UplinkSender::on_disconnected() {
  std::lock_guard lock(mu_);
  for (auto& [name, s] : streams_) rewind(*s);
}

void UplinkSender::tick(uint64_t now_ms) {
  {
    std::lock_guard lock(mu_);
    for (auto& [name, sp] : streams_) {
      Stream& s = *sp;
      maybe_commit(s, now_ms, false);
      if (!s.inflight.empty() && now_ms >= s.inflight.front().sent_ms + options_.ack_timeout_ms) {
        log_warn("uplink ack timeout: resending from the last acknowledged record",
                 {{"stream", s.name}, {"from", s.hub_next}});
        rewind(s);
      }
      if (s.rate_samples.empty() || now_ms >= s.rate_samples.back().first + kRateSampleMs) {
        s.rate_samples.emplace_back(now_ms, s.records_acked);
        while (s.rate_samples.size() > 2 && now_ms > s.rate_samples[1].first + kRateWindowMs) {
          s.rate_samples.pop_front();
        }
      }
    }
  }
  pump(now_ms);
}

void UplinkSender::quarantine(Stream& s, const store::LogRecord& r, std::string_view reason) {
  ++s.quarantined;
  log_warn("uplink record quarantined",
           {{"stream", s.name}, {"seq", r.offset}, {"reason", reason}});
  std::string line = "{\"stream\":";
  append_json_string(line, s.name);
  line += ",\"seq\":" + std::to_string(r.offset) + ",\"ts_ms\":" + std::to_string(r.timestamp_ms);
  line += ",\"reason\":";
  append_json_string(line, reason);
  line += ",\"payload\":";
  append_json_string(line, r.payload);
  line += "}\n";
  const int fd = ::open(quarantine_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    log_error("cannot open the quarantine file",
              {{"path", quarantine_path_}, {"error", std::strerror(errno)}});
    return;
  }
  const ssize_t n = ::write(fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()) || ::fsync(fd) != 0) {
    log_error("cannot write the quarantine file",
              {{"path", quarantine_path_}, {"error", std::strerror(errno)}});
  }
  ::close(fd);
}

std::vector<UplinkStreamStats> UplinkSender::stats(int64_t wall_ms) const {
  std::lock_guard lock(mu_);
  std::vector<UplinkStreamStats> out;
  for (const auto& [name, sp] : streams_) {
    const Stream& s = *sp;
    UplinkStreamStats st;
    st.stream = name;
    st.priority = s.priority;
    const store::LogStats ls = s.log->stats();
    st.next_offset = ls.next_offset;
    st.acked = s.committed;
    st.backlog_records = ls.next_offset > s.committed ? ls.next_offset - s.committed : 0;
    if (ls.records_appended > 0) {
      st.backlog_bytes = st.backlog_records * (ls.payload_bytes_appended / ls.records_appended);
    }
    if (st.backlog_records > 0) {
      int64_t ts = 0;
      if (s.log->read(s.committed, 1, [&](const store::LogRecord& r) {
            ts = r.timestamp_ms;
            return false;
          })) {
        if (ts > 0 && wall_ms > ts) st.oldest_age_ms = wall_ms - ts;
      }
    }
    st.records_sent = s.records_sent;
    st.batches_sent = s.batches_sent;
    st.records_acked = s.records_acked;
    st.records_resent = s.records_resent;
    st.quarantined = s.quarantined;
    st.dropped = s.dropped;
    st.bytes_produced = ls.payload_bytes_appended;
    st.bytes_sent = s.bytes_sent;
    st.inflight_batches = s.inflight.size();
    if (s.rate_samples.size() >= 2) {
      const auto& a = s.rate_samples.front();
      const auto& b = s.rate_samples.back();
      if (b.first > a.first) {
        st.drain_rate = static_cast<double>(b.second - a.second) * 1000.0 /
                        static_cast<double>(b.first - a.first);
      }
    }
    if (st.drain_rate > 0) st.eta_s = static_cast<double>(st.backlog_records) / st.drain_rate;
    if (st.backlog_records == 0) st.eta_s = 0;
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace verge::sync
