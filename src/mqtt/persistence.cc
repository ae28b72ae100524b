#include "mqtt/persistence.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"

namespace verge::mqtt {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCurrentMagic = "verge-mqtt-journal 1 gen ";

std::string gen_dir(const std::string& dir, uint64_t n) {
  return dir + "/gen-" + std::to_string(n);
}

// The live generation number, 0 when there is none yet.
Result<uint64_t> read_current(const std::string& dir) {
  const std::string path = dir + "/CURRENT";
  std::ifstream in(path);
  if (!in) return uint64_t{0};
  std::string line;
  std::getline(in, line);
  if (!line.starts_with(kCurrentMagic)) {
    return unexpected(
        Error{path + ": not a verge journal pointer (or a newer format): '" + line + "'"});
  }
  const std::string num = line.substr(kCurrentMagic.size());
  uint64_t n = 0;
  for (char c : num) {
    if (c < '0' || c > '9' || n > UINT64_MAX / 10) {
      return unexpected(Error{path + ": bad generation number '" + num + "'"});
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (num.empty() || n == 0) return unexpected(Error{path + ": bad generation number"});
  return n;
}

Result<void> fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return unexpected(Error{path + ": " + std::strerror(errno)});
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return unexpected(Error{"fsync " + path + ": " + std::strerror(err)});
  return {};
}

RecoveredSession* session_of(RecoveredState& st, const std::string& id) {
  auto it = st.sessions.find(id);
  return it == st.sessions.end() ? nullptr : &it->second;
}

}  // namespace

void apply_record(RecoveredState& st, JournalRecord&& rec) {
  ++st.records;
  if (rec.type == JournalType::Reset) {
    // The state of one journal, which is all `st` holds while it is replayed (load()).
    st.sessions.clear();
    st.retained.clear();
    return;
  }
  if (rec.type == JournalType::Retain) {
    if (rec.msg.payload.empty()) {
      st.retained.erase(rec.msg.topic);
    } else {
      std::string topic = rec.msg.topic;
      st.retained[topic] = std::move(rec.msg);
    }
    return;
  }
  if (rec.type == JournalType::SessionPut) {
    RecoveredSession& s = st.sessions[rec.client_id];
    if (rec.reset) s = RecoveredSession{};
    s.client_id = rec.client_id;
    s.expiry_interval = rec.expiry_interval;
    s.version = rec.version;
    s.username = std::move(rec.username);
    s.authenticated = rec.authenticated;
    s.awaiting_pubrel = std::move(rec.awaiting_pubrel);
    return;
  }
  if (rec.type == JournalType::SessionEnd) {
    st.sessions.erase(rec.client_id);
    return;
  }
  RecoveredSession* s = session_of(st, rec.client_id);
  if (s == nullptr) {
    ++st.bad_records;  // a record of a session whose start was cut with a torn tail
    return;
  }
  switch (rec.type) {
    case JournalType::Subscribe:
      s->subscriptions[rec.filter] = rec.sub;
      break;
    case JournalType::Unsubscribe:
      s->subscriptions.erase(rec.filter);
      break;
    case JournalType::Enqueue:
    case JournalType::Inflight: {
      RecoveredMessage& m = s->messages[rec.seq];
      m.seq = rec.seq;
      m.packet_id = rec.packet_id;
      m.out_qos = rec.out_qos;
      m.out_retain = rec.out_retain;
      m.subscription_id = rec.subscription_id;
      m.more_ids = std::move(rec.more_ids);
      m.released = rec.msg.topic.empty();  // Inflight without a body: only PUBREL is owed
      m.msg = std::move(rec.msg);
      break;
    }
    case JournalType::Released: {
      RecoveredMessage& m = s->messages[rec.seq];
      m.seq = rec.seq;
      m.packet_id = rec.packet_id;
      m.out_qos = 2;
      m.released = true;
      m.msg = StoredMessage{};
      break;
    }
    case JournalType::Done:
      s->messages.erase(rec.seq);
      break;
    default:
      break;
  }
}

Result<RecoveredState> JournalGeneration::load(const std::string& dir) {
  RecoveredState st;
  auto current = read_current(dir);
  if (!current) return unexpected(current.error());
  if (*current == 0) return st;
  const std::string gen = gen_dir(dir, *current);
  std::error_code ec;
  std::vector<std::string> logs;
  for (const auto& entry : fs::directory_iterator(gen, ec)) {
    if (entry.is_directory()) logs.push_back(entry.path().string());
  }
  if (ec) return unexpected(Error{gen + ": " + ec.message()});
  // Sessions and retained topics each live in exactly one journal of a generation, so the order
  // in which the journals are replayed does not matter.
  for (const std::string& path : logs) {
    RecoveredState one;  // a Reset record clears only this journal's state
    auto replayed = replay_log(path, one);
    if (!replayed) return unexpected(replayed.error());
    st.records += one.records;
    st.bad_records += one.bad_records;
    for (auto& [id, session] : one.sessions) st.sessions[id] = std::move(session);
    for (auto& [topic, msg] : one.retained) st.retained[topic] = std::move(msg);
  }
  if (st.bad_records > 0) {
    log_warn("broker journal had records it could not use (skipped)",
             {{"dir", gen}, {"records", st.bad_records}});
  }
  return st;
}

Result<void> JournalGeneration::replay_log(const std::string& path, RecoveredState& st) {
  {
    store::LogOptions opts;
    auto log = store::SegmentLog::open(path, opts);
    if (!log) return unexpected(Error{"journal " + path + ": " + log.error().message});
    const uint64_t end = (*log)->stats().next_offset;
    uint64_t at = (*log)->stats().first_offset;
    while (at < end) {
      auto next = (*log)->read(at, 4096, [&st](const store::LogRecord& r) {
        auto rec = decode_journal_record(r.payload);
        if (!rec) {
          ++st.bad_records;
          return true;
        }
        apply_record(st, std::move(*rec));
        return true;
      });
      if (!next) return unexpected(Error{"journal " + path + ": " + next.error().message});
      if (*next == at) break;
      at = *next;
    }
  }
  return {};
}

Result<JournalGeneration> JournalGeneration::create(const std::string& dir, unsigned workers,
                                                    JournalDurability durability,
                                                    uint64_t max_record_bytes) {
  auto current = read_current(dir);
  if (!current) return unexpected(current.error());
  JournalGeneration g;
  g.dir_ = dir;
  g.number_ = *current + 1;
  const std::string gen = gen_dir(dir, g.number_);
  std::error_code ec;
  fs::remove_all(gen, ec);  // a half-written generation of an interrupted start
  fs::create_directories(gen, ec);
  if (ec) return unexpected(Error{gen + ": " + ec.message()});
  for (unsigned i = 0; i < workers; ++i) {
    auto j = Journal::open(gen + "/w" + std::to_string(i), durability, max_record_bytes);
    if (!j) return unexpected(j.error());
    g.journals_.push_back(std::move(*j));
  }
  return g;
}

Result<void> JournalGeneration::publish() {
  const std::string tmp = dir_ + "/CURRENT.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kCurrentMagic << number_ << "\n";
    out.flush();
    if (!out) return unexpected(Error{tmp + ": cannot write"});
  }
  auto synced = fsync_path(tmp, O_RDONLY);
  if (!synced) return synced;
  std::error_code ec;
  fs::rename(tmp, dir_ + "/CURRENT", ec);
  if (ec) return unexpected(Error{dir_ + "/CURRENT: " + ec.message()});
  synced = fsync_path(dir_, O_RDONLY | O_DIRECTORY);
  if (!synced) return synced;
  // Older generations are garbage now; a failure to delete them costs disk, not correctness.
  const std::string keep = "gen-" + std::to_string(number_);
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("gen-") && name != keep) fs::remove_all(entry.path(), ec);
  }
  return {};
}

}  // namespace verge::mqtt
