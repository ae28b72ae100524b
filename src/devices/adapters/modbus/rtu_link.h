// A device's share of a serial line. Every device on one line (one `port` path) shares one
// RtuLine, and the devices may sit on any of the node's loops, so each line runs on a thread and
// event loop of its own: a device's link posts its requests to the line's loop and the line
// posts the outcomes back to the device's loop. Lines are found by path and live as long as a
// device uses them.
#pragma once

#include <memory>

#include "devices/adapters/modbus/link.h"
#include "devices/adapters/modbus/settings.h"
#include "net/event_loop.h"

namespace verge::devices::modbus {

// The line is opened with the first device's settings (serial format, timeout, back-off). A
// device whose serial format differs gets a link that stays down and says why.
std::unique_ptr<Link> make_rtu_link(net::EventLoop& loop, const RtuSettings& settings);

}  // namespace verge::devices::modbus
