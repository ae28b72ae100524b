// Fuzzes the Modbus simulator's request handling (src/sim/modbus_device.cc), the part of
// `verge sim modbus` that sees a client's bytes: any request PDU gets a reply that the
// adapters' codec accepts as the answer to it (data, echo or exception), never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "devices/adapters/modbus/pdu.h"
#include "sim/modbus_device.h"
#include "sim/modbus_layout.h"

namespace mb = verge::devices::modbus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const verge::sim::ModbusLayout layout(137);  // every kind, tables of odd sizes
  static verge::sim::SimDevice device(layout, 5);
  const std::string_view pdu(reinterpret_cast<const char*>(data), size);
  std::string reply;
  device.handle(pdu, 1763700000.0 + static_cast<double>(size), reply);
  if (reply.size() < 2) std::abort();
  auto req = mb::decode_request(pdu);
  if (!req) {
    // Exception 1 or 3 for the function as sent.
    if (reply.size() != 2 || (static_cast<uint8_t>(reply[0]) & 0x80) == 0) std::abort();
    return 0;
  }
  auto resp = mb::decode_response(reply, *req);
  if (!resp) std::abort();
  return 0;
}
