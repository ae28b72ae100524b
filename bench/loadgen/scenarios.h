// The three measurements of verge_loadgen. Each prints one "RESULT key=value ..." line on stdout
// and returns the process exit status.
#pragma once

#include "options.h"

namespace loadgen {

// Publishers send as fast as the bounds allow (QoS 1: pub_window unacknowledged per publisher;
// all QoS: window_bytes sent but not yet received end to end); the rate of messages delivered to
// the subscribers is measured over `duration` seconds after `warmup`.
int run_throughput(const Options& o);

// Publishers send at a fixed total `rate`; every payload carries its send time and the subscriber
// records the one-way latency on receipt.
int run_latency(const Options& o);

// Connects `conns` clients that CONNECT and stay idle; reports the broker's RSS before and after.
int run_idle(const Options& o);

}  // namespace loadgen
