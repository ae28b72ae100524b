#include "devices/adapters/modbus/rtu_line.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "devices/adapters/modbus/frame.h"
#include "devices/adapters/modbus/serial_port.h"

namespace verge::devices::modbus {

RtuLine::RtuLine(net::EventLoop& loop, SerialSettings serial, LineOptions options)
    : Line(loop, std::move(options)), serial_(std::move(serial)), fd_(loop) {}

RtuLine::~RtuLine() { shutdown(); }

int64_t RtuLine::gap_us() const {
  // Modbus over serial line V1.02, 2.5.1.1: 3.5 characters, fixed at 1.75 ms above 19200 baud.
  if (serial_.baud > 19200) return 1750;
  return character_time_us(serial_) * 7 / 2;
}

void RtuLine::open() {
  auto fd = open_serial_port(serial_);
  if (!fd) return failed(fd.error().message);
  if (!fd_.watch(*fd, EPOLLIN, [this](uint32_t e) { on_events(e); })) {
    return failed(std::string("epoll: ") + std::strerror(errno));
  }
  opened();
}

void RtuLine::close() {
  fd_.close();
  ++generation_;
  in_.clear();
  out_.clear();
}

Result<void> RtuLine::transmit(uint8_t unit, std::string_view pdu) {
  if (!fd_.open()) return unexpected(Error{"serial line closed"});
  // A late answer to an abandoned request must not be read as this one's.
  for (;;) {
    const ssize_t n = ::read(fd_.fd(), loop().read_buffer(), loop().read_buffer_size());
    if (n <= 0) break;
  }
  in_.clear();
  const bool idle = out_.empty();
  frame_rtu(unit, pdu, out_);
  if (!idle) return {};
  return flush();
}

Result<void> RtuLine::flush() {
  size_t sent = 0;
  while (sent < out_.size()) {
    const ssize_t n = ::write(fd_.fd(), out_.data() + sent, out_.size() - sent);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return unexpected(Error{serial_.path + ": write: " + std::strerror(errno)});
    }
    sent += static_cast<size_t>(n);
  }
  out_.erase(0, sent);
  fd_.modify(out_.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT);
  return {};
}

void RtuLine::on_events(uint32_t events) {
  if ((events & EPOLLOUT) != 0 && !out_.empty()) {
    if (auto r = flush(); !r) return failed(r.error().message);
  }
  const uint64_t generation = generation_;
  if ((events & EPOLLIN) != 0) read_some();
  if (generation_ != generation) return;
  if ((events & (EPOLLHUP | EPOLLERR)) != 0) failed(serial_.path + ": hang-up on the line");
}

void RtuLine::read_some() {
  const uint64_t generation = generation_;
  for (;;) {
    const ssize_t n = ::read(fd_.fd(), loop().read_buffer(), loop().read_buffer_size());
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return failed(serial_.path + ": read: " + std::strerror(errno));
    }
    if (!in_flight()) continue;  // noise, or an answer that came after its timeout
    in_.append(reinterpret_cast<const char*>(loop().read_buffer()), static_cast<size_t>(n));
    auto parsed = parse_rtu_response(in_, *in_flight_request());
    if (!parsed) {
      in_.clear();
      malformed("malformed response: " + parsed.error().message);
      if (generation_ != generation) return;
      continue;
    }
    if (!parsed->has_value()) continue;
    const RtuFrame& f = **parsed;
    if (f.unit != in_flight_unit()) {
      const std::string why = "response from unit " + std::to_string(f.unit) + ", expected " +
                              std::to_string(in_flight_unit());
      in_.clear();
      malformed(why);
    } else {
      frame_pdu_.assign(f.pdu);
      in_.clear();
      answered(frame_pdu_);
    }
    if (generation_ != generation) return;
  }
}

}  // namespace verge::devices::modbus
