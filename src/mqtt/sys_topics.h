// $SYS/broker/... statistics topics (retained, refreshed every sys-interval seconds), as
// Mosquitto publishes them, so existing dashboards work.
#pragma once

namespace verge::mqtt {
class Worker;
// Starts the periodic publication on `w`'s loop.
void start_sys_topics(Worker& w);
}  // namespace verge::mqtt
