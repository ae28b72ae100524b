// Profiles and devices from their documents (YAML through core/config, or JSON from REST).
// Strict: unknown keys are errors, and every error names the field path first, e.g.
// "points[2].type: unknown type 'flaot32' (bool, int16, ...)", so the caller can prefix where
// the document came from ("profiles[boiler].").
#pragma once

#include <functional>
#include <string_view>

#include "core/result.h"
#include "core/value.h"
#include "devices/adapter.h"
#include "devices/types.h"

namespace verge::devices {

// True for 1..64 of [A-Za-z0-9_.-]: names and ids that go into topics and series names.
bool valid_name(std::string_view s);

Result<Profile> parse_profile(const Value& doc, const AdapterRegistry& adapters);

// `find_profile` resolves the device's profile by name (null when unknown).
using ProfileLookup = std::function<const Profile*(std::string_view name)>;
Result<DeviceSpec> parse_device(const Value& doc, const ProfileLookup& find_profile,
                                const AdapterRegistry& adapters);

// Re-checks a device against a (changed) profile: calibration names its points.
Result<void> check_device_against(const DeviceSpec& device, const Profile& profile);

}  // namespace verge::devices
