#include "devices/adapters/modbus/serial_port.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace verge::devices::modbus {

namespace {

speed_t speed_of(int baud) {
  switch (baud) {
    case 1200:
      return B1200;
    case 2400:
      return B2400;
    case 4800:
      return B4800;
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    case 115200:
      return B115200;
    case 230400:
      return B230400;
    default:
      return B0;
  }
}

}  // namespace

Result<int> open_serial_port(const SerialSettings& s) {
  const speed_t speed = speed_of(s.baud);
  if (speed == B0) return unexpected(Error{"baud: unsupported " + std::to_string(s.baud)});
  const int fd = ::open(s.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return unexpected(Error{"open " + s.path + ": " + std::strerror(errno)});
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) {
    const int err = errno;
    ::close(fd);
    return unexpected(Error{s.path + ": not a serial line: " + std::strerror(err)});
  }
  cfmakeraw(&tio);
  tio.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  tio.c_cflag |= CLOCAL | CREAD | (s.data_bits == 7 ? CS7 : CS8);
  if (s.parity != Parity::None) tio.c_cflag |= PARENB;
  if (s.parity == Parity::Odd) tio.c_cflag |= PARODD;
  if (s.stop_bits == 2) tio.c_cflag |= CSTOPB;
  tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY | INPCK);
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  cfsetispeed(&tio, speed);
  cfsetospeed(&tio, speed);
  if (tcsetattr(fd, TCSANOW, &tio) != 0) {
    const int err = errno;
    ::close(fd);
    return unexpected(Error{s.path + ": cannot configure the line: " + std::strerror(err)});
  }
  tcflush(fd, TCIOFLUSH);
  return fd;
}

int64_t character_time_us(const SerialSettings& s) {
  const int bits = 1 + s.data_bits + (s.parity != Parity::None ? 1 : 0) + s.stop_bits;
  return (static_cast<int64_t>(bits) * 1'000'000 + s.baud - 1) / s.baud;
}

}  // namespace verge::devices::modbus
