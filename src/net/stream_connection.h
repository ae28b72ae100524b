// The I/O half of a connection: reads from its transport into the loop's shared buffer, hands
// bytes to the protocol (on_bytes), queues replies and writes them with writev after the batch.
// Lives on one loop; may move to another loop between batches (detach, then attach there).
//
// Ownership: the owner (a worker or the HTTP server) deletes the object, never from inside one of
// its callbacks; on_closed() tells the owner to schedule that with EventLoop::next_iteration, so
// the deletion runs after any read this connection deferred.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/event_loop.h"
#include "net/out_queue.h"
#include "net/transport.h"

namespace verge::net {

class StreamConnection : public EventLoop::Handler {
 public:
  StreamConnection(EventLoop& loop, std::unique_ptr<Transport> transport);
  virtual ~StreamConnection();
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Registers with the loop and reads what is already there.
  void start();
  // Leaves the current loop (call from that loop, after its batch: see EventLoop::after_batch).
  void detach();
  // Joins `loop` (call from that loop's thread) and resumes input.
  void attach(EventLoop& loop);

  void send(std::string_view bytes);
  void send_shared(const SharedBytes& owner, std::string_view slice);
  size_t queued_bytes() const { return out_.size(); }

  // Stops reading (input stays in the socket and the buffer) until resume_input().
  void pause_input() { paused_ = true; }
  void resume_input();

  // Writes what it can of the queue, then closes. Idempotent.
  void close();
  bool closed() const { return closed_; }
  Transport& transport() { return *transport_; }
  EventLoop& loop() { return *loop_; }

 protected:
  // All unconsumed bytes so far; returns how many were consumed. May call close().
  virtual size_t on_bytes(std::span<const uint8_t> data) = 0;
  // The connection is closed (by the peer, an I/O error or close()); called exactly once.
  virtual void on_closed(std::string_view reason) = 0;
  // The out queue became empty after having data (room for more).
  virtual void on_drained() {}

 private:
  void on_events(uint32_t events) override;
  void read_some();
  void deliver_input(const uint8_t* data, size_t len);
  void flush();
  void schedule_flush();
  void fail(std::string_view reason);

  EventLoop* loop_;
  std::unique_ptr<Transport> transport_;
  OutQueue out_;
  std::string inbuf_;  // bytes received but not yet consumed (a partial packet)
  bool flush_scheduled_ = false;
  bool read_pending_ = false;  // a read_some() is queued for the next iteration
  bool paused_ = false;
  bool closed_ = false;
  bool registered_ = false;
};

}  // namespace verge::net
