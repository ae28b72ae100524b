#include "store/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace verge::store {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli, reflected

// tables[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8).
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}
constexpr auto kTables = make_tables();

uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // little-endian host assumed (x86-64, aarch64)
  return v;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t hw_raw(uint32_t c, const unsigned char* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    c64 = _mm_crc32_u64(c64, load64(p));
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n > 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  return c;
}
bool detect_hw() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t hw_raw(uint32_t c, const unsigned char*, size_t) { return c; }
bool detect_hw() { return false; }
#endif

uint32_t sw_raw(uint32_t c, const unsigned char* p, size_t n) {
  while (n >= 8) {
    const uint64_t v = load64(p) ^ c;
    c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
        kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = kTables[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    --n;
  }
  return c;
}

}  // namespace

bool crc32c_hardware_supported() {
  static const bool supported = detect_hw();
  return supported;
}

uint32_t crc32c_software(uint32_t crc, const void* data, size_t n) {
  return ~sw_raw(~crc, static_cast<const unsigned char*>(data), n);
}

uint32_t crc32c_hardware(uint32_t crc, const void* data, size_t n) {
  return ~hw_raw(~crc, static_cast<const unsigned char*>(data), n);
}

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  return crc32c_hardware_supported() ? crc32c_hardware(crc, data, n)
                                     : crc32c_software(crc, data, n);
}

}  // namespace verge::store
