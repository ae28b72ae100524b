#include "net/stream_connection.h"

#include <sys/epoll.h>

namespace verge::net {

namespace {
// Reads per readiness event before yielding to other connections (fairness under load).
constexpr int kReadsPerEvent = 8;
constexpr int kIovMax = 64;
constexpr uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
}  // namespace

StreamConnection::StreamConnection(EventLoop& loop, std::unique_ptr<Transport> transport)
    : loop_(&loop), transport_(std::move(transport)) {}

StreamConnection::~StreamConnection() {
  if (registered_) loop_->remove(transport_->fd());
}

void StreamConnection::start() {
  registered_ = loop_->add(transport_->fd(), kEvents, this);
  if (!registered_) {
    fail("cannot register with event loop");
    return;
  }
  read_some();
}

void StreamConnection::detach() {
  if (registered_) loop_->remove(transport_->fd());
  registered_ = false;
}

void StreamConnection::attach(EventLoop& loop) {
  loop_ = &loop;
  registered_ = loop_->add(transport_->fd(), kEvents, this);
  if (!registered_) {
    fail("cannot register with event loop");
    return;
  }
  resume_input();
  if (!out_.empty()) schedule_flush();
}

void StreamConnection::on_events(uint32_t events) {
  if (closed_ || !registered_) return;
  if (events & EPOLLOUT) flush();
  if (closed_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_some();
}

void StreamConnection::resume_input() {
  paused_ = false;
  if (closed_) return;
  if (!inbuf_.empty()) deliver_input(nullptr, 0);
  if (!closed_ && !paused_) read_some();
}

void StreamConnection::read_some() {
  for (int i = 0; i < kReadsPerEvent; ++i) {
    if (paused_ || closed_) return;
    const IoResult r = transport_->read(loop_->read_buffer(), loop_->read_buffer_size());
    switch (r.status) {
      case IoStatus::Ok:
        deliver_input(loop_->read_buffer(), r.bytes);
        break;
      case IoStatus::WouldBlock:
        return;
      case IoStatus::Closed:
        fail("closed by peer");
        return;
      case IoStatus::Error:
        fail(transport_->last_error());
        return;
    }
  }
  // More may be waiting: with edge-triggered epoll nobody else will tell us. Continue in the
  // next iteration so a flooding client cannot starve the others.
  if (read_pending_) return;
  read_pending_ = true;
  loop_->next_iteration([this] {
    read_pending_ = false;
    if (!closed_) read_some();
  });
}

void StreamConnection::deliver_input(const uint8_t* data, size_t len) {
  if (inbuf_.empty() && len > 0) {
    // Common case: parse straight from the loop's buffer and keep only a partial tail.
    const size_t used = on_bytes(std::span<const uint8_t>(data, len));
    if (!closed_ && used < len)
      inbuf_.assign(reinterpret_cast<const char*>(data) + used, len - used);
    return;
  }
  inbuf_.append(reinterpret_cast<const char*>(data), len);
  const size_t used = on_bytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(inbuf_.data()), inbuf_.size()));
  if (closed_) return;
  inbuf_.erase(0, used);
  // Idle connections should not hold a large buffer.
  if (inbuf_.empty() && inbuf_.capacity() > 4096) std::string().swap(inbuf_);
}

void StreamConnection::send(std::string_view bytes) {
  if (closed_) return;
  out_.append(bytes);
  schedule_flush();
}

void StreamConnection::send_shared(const SharedBytes& owner, std::string_view slice) {
  if (closed_) return;
  out_.append_shared(owner, slice);
  schedule_flush();
}

void StreamConnection::schedule_flush() {
  if (flush_scheduled_ || !registered_) return;
  flush_scheduled_ = true;
  loop_->after_batch([this] { flush(); });
}

void StreamConnection::flush() {
  flush_scheduled_ = false;
  if (closed_ || !registered_) return;
  const bool had_data = !out_.empty();
  while (!out_.empty()) {
    iovec iov[kIovMax];
    const int n = out_.gather(iov, kIovMax);
    const IoResult r = transport_->writev(iov, n);
    if (r.status == IoStatus::WouldBlock) return;  // EPOLLOUT will call us again
    if (r.status != IoStatus::Ok) {
      fail(r.status == IoStatus::Closed ? "closed by peer" : transport_->last_error());
      return;
    }
    out_.consume(r.bytes);
  }
  if (had_data) on_drained();
}

void StreamConnection::close() {
  if (closed_) return;
  if (registered_) {
    flush_scheduled_ = false;
    // Best effort: the last packets (CONNACK with an error, DISCONNECT) are small.
    while (!out_.empty()) {
      iovec iov[kIovMax];
      const int n = out_.gather(iov, kIovMax);
      const IoResult r = transport_->writev(iov, n);
      if (r.status != IoStatus::Ok || r.bytes == 0) break;
      out_.consume(r.bytes);
    }
  }
  fail("closed by server");
}

void StreamConnection::fail(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  if (registered_) loop_->remove(transport_->fd());
  registered_ = false;
  out_.clear();
  std::string().swap(inbuf_);
  on_closed(reason);
}

}  // namespace verge::net
