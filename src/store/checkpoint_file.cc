#include "store/checkpoint_file.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "store/crc32c.h"

namespace verge::store {
namespace {

constexpr std::string_view kFirstLine = "verge-checkpoint 1\n";

bool parse_u64(std::string_view s, uint64_t& v) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  const std::string t(s);
  errno = 0;
  v = std::strtoull(t.c_str(), nullptr, 10);
  return errno == 0;
}

bool parse_i64(std::string_view s, int64_t& v) {
  if (s.empty() || s.size() > 20) return false;
  const std::string t(s);
  char* end = nullptr;
  errno = 0;
  v = std::strtoll(t.c_str(), &end, 10);
  return errno == 0 && end == t.c_str() + t.size();
}

// Splits "key value[ value2]" lines; false when the key differs.
bool take_line(std::string_view& text, std::string_view key, std::string_view& value) {
  const size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return false;
  const std::string_view line = text.substr(0, nl);
  if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
    return false;
  }
  value = line.substr(key.size() + 1);
  text.remove_prefix(nl + 1);
  return true;
}

}  // namespace

std::string encode_checkpoint(const Checkpoint& c) {
  std::string out(kFirstLine);
  out += "segment " + std::to_string(c.segment) + "\n";
  out += "pos " + std::to_string(c.pos) + "\n";
  out += "next " + std::to_string(c.next) + "\n";
  out += "max_ts " + (c.max_ts ? std::to_string(*c.max_ts) : std::string("-")) + "\n";
  for (const auto& [offset, pos] : c.index) {
    out += "index " + std::to_string(offset) + " " + std::to_string(pos) + "\n";
  }
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc32c %08x\n", crc32c(out));
  out += crc;
  return out;
}

std::optional<Checkpoint> decode_checkpoint(std::string_view text) {
  const size_t crc_line = text.rfind("crc32c ");
  if (crc_line == std::string_view::npos || text.size() != crc_line + 16) return std::nullopt;
  const std::string hex(text.substr(crc_line + 7, 8));
  char* end = nullptr;
  const unsigned long want = std::strtoul(hex.c_str(), &end, 16);
  if (end != hex.c_str() + 8 || want != crc32c(text.substr(0, crc_line))) return std::nullopt;
  text = text.substr(0, crc_line);
  if (text.substr(0, kFirstLine.size()) != kFirstLine) return std::nullopt;
  text.remove_prefix(kFirstLine.size());
  Checkpoint c;
  std::string_view v;
  if (!take_line(text, "segment", v) || !parse_u64(v, c.segment)) return std::nullopt;
  if (!take_line(text, "pos", v) || !parse_u64(v, c.pos)) return std::nullopt;
  if (!take_line(text, "next", v) || !parse_u64(v, c.next)) return std::nullopt;
  if (!take_line(text, "max_ts", v)) return std::nullopt;
  if (v != "-") {
    int64_t ts;
    if (!parse_i64(v, ts)) return std::nullopt;
    c.max_ts = ts;
  }
  while (!text.empty()) {
    if (!take_line(text, "index", v)) return std::nullopt;
    const size_t sp = v.find(' ');
    uint64_t offset, pos;
    if (sp == std::string_view::npos || !parse_u64(v.substr(0, sp), offset) ||
        !parse_u64(v.substr(sp + 1), pos)) {
      return std::nullopt;
    }
    c.index.emplace_back(offset, pos);
  }
  return c;
}

std::optional<Checkpoint> last_checkpoint(std::string_view text) {
  std::optional<Checkpoint> last;
  size_t at = text.find(kFirstLine);
  while (at != std::string_view::npos) {
    const size_t next = text.find(kFirstLine, at + 1);
    const std::string_view entry =
        text.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
    // An entry may be followed by junk (a torn append); its CRC line ends it.
    const size_t crc = entry.rfind("crc32c ");
    if (crc != std::string_view::npos && crc + 16 <= entry.size()) {
      if (auto c = decode_checkpoint(entry.substr(0, crc + 16))) last = std::move(c);
    }
    at = next;
  }
  return last;
}

std::optional<Checkpoint> load_checkpoint(Filesystem& fs, const std::string& dir) {
  const std::string path = dir + "/checkpoint";
  if (!fs.exists(path)) return std::nullopt;
  auto f = fs.open(path, OpenMode::Read);
  if (!f) return std::nullopt;
  auto size = (*f)->size();
  if (!size || *size > (4u << 20)) return std::nullopt;
  std::string text(*size, '\0');
  auto n = (*f)->read_at(0, text.data(), text.size());
  if (!n) return std::nullopt;
  text.resize(*n);
  return last_checkpoint(text);
}

}  // namespace verge::store
