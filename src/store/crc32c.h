// CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78), the checksum of the segment
// log. Uses the SSE4.2 crc32 instruction when the CPU has it (chosen once, at first use), else a
// slicing-by-8 table implementation. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace verge::store {

// Extends a finished CRC (0 for the empty input) with `n` more bytes: crc32c(a + b) ==
// crc32c_extend(crc32c(a), b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
inline uint32_t crc32c(std::string_view s) { return crc32c_extend(0, s.data(), s.size()); }

// The two implementations, exposed so tests can check that both agree.
uint32_t crc32c_software(uint32_t crc, const void* data, size_t n);
uint32_t crc32c_hardware(uint32_t crc, const void* data, size_t n);  // only if supported
bool crc32c_hardware_supported();

}  // namespace verge::store
