#include "sync/ingest_dedup_file.h"

#include "store/crc32c.h"
#include "store/tsdb_bytes.h"

namespace verge::sync::ingest {
namespace {
using store::tsdb_detail::ByteReader;
using store::tsdb_detail::put_le;
using store::tsdb_detail::put_varint;
constexpr std::string_view kMagic = "verge-ingest-dedup 1\n";
constexpr uint64_t kMaxFileBytes = 1ull << 30;
}  // namespace

std::string encode_dedup(const DedupCheckpoint& c) {
  std::string out(kMagic);
  put_varint(out, c.log_offset);
  put_varint(out, c.next_seq.size());
  for (const auto& [key, next] : c.next_seq) {
    put_varint(out, key.first.size());
    out += key.first;
    put_varint(out, key.second.size());
    out += key.second;
    put_varint(out, next);
  }
  put_le(out, store::crc32c(out), 4);
  return out;
}

Result<DedupCheckpoint> decode_dedup(std::string_view bytes) {
  const auto bad = [](std::string_view why) {
    return unexpected(Error{"ingest dedup checkpoint is damaged: " + std::string(why)});
  };
  if (bytes.size() < kMagic.size() + 4 || bytes.substr(0, kMagic.size()) != kMagic) {
    return bad("bad header");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  ByteReader crc_in(bytes.substr(bytes.size() - 4));
  if (crc_in.le(4) != store::crc32c(body)) return bad("crc");
  ByteReader in(body.substr(kMagic.size()));
  DedupCheckpoint c;
  c.log_offset = in.varint();
  const uint64_t n = in.varint();
  for (uint64_t i = 0; i < n && in.ok(); ++i) {
    std::string node(in.bytes(in.varint()));
    std::string stream(in.bytes(in.varint()));
    const uint64_t next = in.varint();
    if (in.ok()) c.next_seq[{std::move(node), std::move(stream)}] = next;
  }
  if (!in.ok() || in.left() != 0) return bad("truncated entries");
  return c;
}

Result<DedupCheckpoint> load_dedup(store::Filesystem& fs, const std::string& dir) {
  const std::string path = dir + "/dedup";
  if (!fs.exists(path)) return DedupCheckpoint{};
  auto f = fs.open(path, store::OpenMode::Read);
  if (!f) return unexpected(Error{f.error().message});
  auto size = (*f)->size();
  if (!size) return unexpected(Error{size.error().message});
  if (*size > kMaxFileBytes) return unexpected(Error{path + ": dedup checkpoint is too large"});
  std::string bytes(*size, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    auto n = (*f)->read_at(got, bytes.data() + got, bytes.size() - got);
    if (!n) return unexpected(Error{n.error().message});
    if (*n == 0) break;
    got += *n;
  }
  bytes.resize(got);
  auto c = decode_dedup(bytes);
  if (!c) return unexpected(Error{path + ": " + c.error().message});
  return c;
}

Result<void> save_dedup(store::Filesystem& fs, const std::string& dir, const DedupCheckpoint& c) {
  const std::string tmp = dir + "/dedup.tmp";
  auto f = fs.open(tmp, store::OpenMode::Create);
  if (!f) return unexpected(Error{f.error().message});
  if (auto r = (*f)->append(encode_dedup(c)); !r) return unexpected(Error{r.error().message});
  if (auto r = (*f)->sync(); !r) return unexpected(Error{r.error().message});
  f->reset();
  if (auto r = fs.rename(tmp, dir + "/dedup"); !r) return unexpected(Error{r.error().message});
  return {};
}

}  // namespace verge::sync::ingest
