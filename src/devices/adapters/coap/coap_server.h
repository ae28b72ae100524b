// The CoAP listener for constrained devices (the ear-tag case: a report every few minutes over
// NB-IoT). Devices POST (or PUT) their readings to coap://node/ingest/<device> with the JSON
// sample body that HTTP ingest takes; libcoap3 runs the protocol (confirmable messages,
// retransmission, duplicates, block-wise transfer) on a thread of its own.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/result.h"
#include "devices/ingest.h"

namespace verge::devices {

class CoapServer {
 public:
  static Result<std::unique_ptr<CoapServer>> start(const ListenAddress& addr, IngestSink& sink);
  virtual ~CoapServer() = default;                   // stops the thread and closes the socket
  virtual const ListenAddress& address() const = 0;  // with the bound port (port 0 resolved)
};

}  // namespace verge::devices
