#include "client.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "net/socket.h"

namespace loadgen {

namespace mq = verge::mqtt;

namespace {

mq::Version to_version(int v) { return v == 5 ? mq::Version::V5 : mq::Version::V311; }

void set_events(Conn& c, int epfd, bool want_out) {
  if (c.want_out == want_out) return;
  c.want_out = want_out;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  ev.data.u32 = c.index;
  epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
}

}  // namespace

bool open_conn(Conn& c, const Options& o, const std::string& client_id, uint16_t keep_alive,
               size_t in_capacity, int epfd) {
  auto fd = verge::net::connect_tcp(o.host, o.port);
  if (!fd) {
    std::fprintf(stderr, "verge_loadgen: %s\n", fd.error().message.c_str());
    return false;
  }
  c.fd = *fd;
  c.state = State::Connecting;
  c.in.resize(in_capacity);
  c.in_len = 0;
  c.out.clear();
  c.out_off = 0;
  c.want_out = false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = c.index;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    std::perror("verge_loadgen: epoll_ctl");
    return false;
  }
  mq::Connect conn;
  conn.version = to_version(o.version);
  // Persistent sessions make a durable broker journal every QoS 1 message it queues.
  conn.clean_start = !o.persistent;
  if (o.persistent && conn.version == mq::Version::V5) conn.props.session_expiry_interval = 3600;
  conn.keep_alive = keep_alive;
  conn.client_id = client_id;
  mq::encode(conn, conn.version, c.out);
  return flush(c, epfd);
}

void queue_subscribe(Conn& c, const std::string& filter, unsigned qos, int version) {
  mq::Subscribe s;
  s.packet_id = 1;
  mq::TopicFilter f;
  f.filter = filter;
  f.qos = static_cast<uint8_t>(qos);
  s.topics.push_back(f);
  mq::encode(s, to_version(version), c.out);
}

void make_publish_template(Conn& c, const std::string& topic, unsigned qos, unsigned size,
                           int version) {
  const std::string payload(size, '\0');
  mq::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.qos = static_cast<uint8_t>(qos);
  p.packet_id = qos > 0 ? 1 : 0;
  c.tmpl.clear();
  mq::encode(p, to_version(version), c.tmpl);
  c.payload_off = c.tmpl.size() - size;
  // 3.1.1: ... topic, packet id, payload. 5: ... topic, packet id, properties (empty: 1 byte).
  c.pid_off = c.payload_off - 2 - (version == 5 ? 1 : 0);
}

void append_publishes(Conn& c, unsigned n, unsigned qos, uint64_t ts_ns) {
  for (unsigned i = 0; i < n; ++i) {
    const size_t base = c.out.size();
    c.out.append(c.tmpl);
    char* p = c.out.data() + base;
    std::memcpy(p + c.payload_off, &ts_ns, sizeof ts_ns);
    if (qos > 0) {
      if (c.next_id == 0) c.next_id = 1;
      p[c.pid_off] = static_cast<char>(c.next_id >> 8);
      p[c.pid_off + 1] = static_cast<char>(c.next_id & 0xff);
      ++c.next_id;
      ++c.inflight;
    }
  }
  c.sent += n;
}

void append_puback(Conn& c, uint16_t packet_id) {
  const char ack[4] = {0x40, 0x02, static_cast<char>(packet_id >> 8),
                       static_cast<char>(packet_id & 0xff)};
  c.out.append(ack, sizeof ack);
}

bool flush(Conn& c, int epfd) {
  while (c.pending() > 0) {
    const ssize_t n = ::write(c.fd, c.out.data() + c.out_off, c.pending());
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_events(c, epfd, true);
      return true;
    }
    return false;
  }
  c.out.clear();  // keeps the capacity
  c.out_off = 0;
  set_events(c, epfd, false);
  return true;
}

ssize_t read_some(Conn& c) {
  if (c.in_len == c.in.size()) c.in.resize(c.in.size() * 2);
  for (;;) {
    const ssize_t n = ::read(c.fd, c.in.data() + c.in_len, c.in.size() - c.in_len);
    if (n > 0) {
      c.in_len += static_cast<size_t>(n);
      return n;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    return 0;
  }
}

bool parse_publish(std::span<const uint8_t> frame, const mq::FrameHeader& h, int version,
                   PublishView& out) {
  size_t pos = h.header_size;
  out.qos = static_cast<uint8_t>((h.first_byte >> 1) & 3);
  if (pos + 2 > frame.size()) return false;
  const size_t topic_len = (size_t{frame[pos]} << 8) | frame[pos + 1];
  pos += 2 + topic_len;
  if (out.qos > 0) {
    if (pos + 2 > frame.size()) return false;
    out.packet_id = static_cast<uint16_t>((frame[pos] << 8) | frame[pos + 1]);
    pos += 2;
  }
  if (version == 5) {
    uint32_t len = 0;
    for (int shift = 0; shift <= 21; shift += 7) {
      if (pos >= frame.size()) return false;
      const uint8_t b = frame[pos++];
      len |= uint32_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) break;
    }
    pos += len;
  }
  if (pos > frame.size()) return false;
  out.payload = frame.subspan(pos);
  return true;
}

void close_conn(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.state = State::Closed;
}

uint64_t raise_nofile_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

}  // namespace loadgen
