// Modbus RTU over a serial line: RTU framing with CRC, answers sized from the request, the
// 3.5-character silence between frames. The devices (units) sharing a line are its users
// (rtu_link.h); their requests go out one at a time.
#pragma once

#include <memory>
#include <string>

#include "devices/adapters/modbus/line.h"
#include "devices/adapters/modbus/settings.h"
#include "devices/adapters/modbus/watched_fd.h"

namespace verge::devices::modbus {

class RtuLine final : public Line {
 public:
  RtuLine(net::EventLoop& loop, SerialSettings serial, LineOptions options);
  ~RtuLine() override;

 private:
  void open() override;
  void close() override;
  Result<void> transmit(uint8_t unit, std::string_view pdu) override;
  bool reopen_after_error() const override { return false; }
  int64_t gap_us() const override;

  void on_events(uint32_t events);
  void read_some();
  Result<void> flush();

  SerialSettings serial_;
  WatchedFd fd_;
  uint64_t generation_ = 0;
  std::string in_;
  std::string out_;
  std::string frame_pdu_;
};

}  // namespace verge::devices::modbus
