// InfluxDB line protocol, so Telegraf, gateways and scripts that already speak it can push
// readings:  measurement[,tag=value...] field=value[,field=value...] [timestamp]
// The device is the tag `device` when present, else the measurement; each field is one point.
// docs/devices/ingest.md has the details.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "devices/adapters/http/decoded.h"

namespace verge::devices {

enum class Precision : uint8_t { Ns, Us, Ms, S };
// "ns", "us", "ms", "s" (and InfluxDB 1.x's "n", "u"); nullopt for anything else.
std::optional<Precision> parse_precision(std::string_view s);

// Decodes every line of `body`; a bad line is refused whole, with its number
// ("line 3: field 'temp': bad float '1.2.3'"), and the good lines are kept. Blank lines and
// comments (#) are skipped. Readings without a timestamp get 0 (= when received).
DecodedReadings decode_line_protocol(std::string_view body, Precision precision,
                                     const IngestLimits& limits = {});

}  // namespace verge::devices
