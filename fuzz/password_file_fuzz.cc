// Fuzzes the password file parser (hashing is not exercised: argon2id is slow by design, and the
// parser is what reads outside bytes). An error must name the file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mqtt/password_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto pf = verge::mqtt::PasswordFile::parse(text, "fuzz.passwd");
  if (!pf) {
    if (pf.error().message.find("fuzz.passwd") == std::string::npos) std::abort();
    return 0;
  }
  (void)pf->has_user("admin");
  return 0;
}
