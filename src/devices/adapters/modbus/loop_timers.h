// One TimerQueue per event loop, shared by the Modbus clients and lines on it: a queue costs a
// timerfd, and a node polling hundreds of devices should not spend two descriptors per device
// on timers. Users cancel their own timers before they go.
#pragma once

#include <memory>

#include "net/event_loop.h"
#include "net/timer_queue.h"

namespace verge::devices::modbus {

// The queue of `loop`, created on first use. Call on the loop's thread; the last owner to let go
// destroys it, which must happen on that thread too (or after the loop stopped).
std::shared_ptr<net::TimerQueue> loop_timers(net::EventLoop& loop);

}  // namespace verge::devices::modbus
