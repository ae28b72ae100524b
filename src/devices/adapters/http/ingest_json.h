// JSON samples as devices push them (HTTP ingest, CoAP): one object or an array of objects, each
// in the device form
//   {"device":"d","ts":1732190000123,"values":{"temp":21.5},"quality":{"temp":"uncertain"}}
// or the point form
//   {"device":"d","point":"temp","value":21.5,"ts":"2026-11-21T10:00:00.123Z","quality":"bad",
//    "reason":"sensor open"}
// docs/devices/ingest.md has the details.
#pragma once

#include <string_view>

#include "core/result.h"
#include "devices/adapters/http/decoded.h"

namespace verge::devices {

// Decodes `body`. A body that is not JSON at all (or too large, or not an object or array) is an
// error; otherwise every item is decoded on its own: a bad item or value is refused with its
// path ("[3].values.temp: expected a number, bool or string") and the rest are kept.
// `default_device` is used for items without "device" (CoAP takes it from the URI).
Result<DecodedReadings> decode_ingest_json(std::string_view body, std::string_view default_device,
                                           const IngestLimits& limits = {});

}  // namespace verge::devices
