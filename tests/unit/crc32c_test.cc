#include "store/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace verge::store {
namespace {

// RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32c, Rfc3720Vectors) {
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down), 0x113FDB5Cu);
  const unsigned char pdu[48] = {0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    0, 0, 0, 0,
                                 0x14, 0,    0, 0, 0, 0, 4, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
                                 0x28, 0,    0, 0, 0, 0, 0, 0, 2, 0, 0, 0,    0, 0, 0, 0};
  EXPECT_EQ(crc32c(pdu, sizeof pdu), 0xD9963A56u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  const std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(crc32c_extend(crc32c(s.substr(0, cut)), s.data() + cut, s.size() - cut), crc32c(s));
  }
}

TEST(Crc32c, SoftwareAndHardwareAgreeOnAnyLengthAndAlignment) {
  std::mt19937_64 rng(42);
  std::string buf(4096 + 16, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  for (size_t align = 0; align < 8; ++align) {
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4096}) {
      const uint32_t sw = crc32c_software(0, buf.data() + align, len);
      if (crc32c_hardware_supported()) {
        EXPECT_EQ(crc32c_hardware(0, buf.data() + align, len), sw) << align << " " << len;
      }
      EXPECT_EQ(crc32c(buf.data() + align, len), sw);
    }
  }
  EXPECT_EQ(crc32c_software(0, "123456789", 9), 0xE3069283u);
}

}  // namespace
}  // namespace verge::store
