// Modbus TCP: one connection per device (MBAP framing, transaction ids matched). A timeout or a
// malformed answer closes the connection, since the late bytes would otherwise be read as the
// next answer; the line reopens it at once for the retry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "devices/adapters/modbus/line.h"
#include "devices/adapters/modbus/settings.h"
#include "devices/adapters/modbus/watched_fd.h"

namespace verge::devices::modbus {

class TcpLine final : public Line {
 public:
  TcpLine(net::EventLoop& loop, std::string host, uint16_t port, LineOptions options);
  ~TcpLine() override;

 private:
  struct Resolving;
  void open() override;
  void close() override;
  Result<void> transmit(uint8_t unit, std::string_view pdu) override;
  bool reopen_after_error() const override { return true; }

  void connect_to(const void* addr, unsigned len);
  void on_events(uint32_t events);
  void read_some();
  Result<void> flush();
  void drop_unsolicited(size_t n);

  std::string host_;
  uint16_t port_;
  WatchedFd fd_;
  bool connecting_ = false;
  net::TimerQueue::Id connect_timer_ = 0;
  uint16_t transaction_ = 0;
  uint64_t generation_ = 0;  // counts closes: a callback may close the socket under a reader
  std::string in_;
  std::string out_;
  std::string frame_pdu_;  // the answer's PDU, copied out of in_ before in_ moves
  std::shared_ptr<Resolving> resolving_;
  size_t unsolicited_ = 0;  // bytes with no request in flight, on this connection
  int64_t last_unsolicited_log_us_ = -60'000'000;
};

// The device's own connection, on the client's loop.
std::unique_ptr<Link> make_tcp_link(net::EventLoop& loop, const TcpSettings& settings);

}  // namespace verge::devices::modbus
