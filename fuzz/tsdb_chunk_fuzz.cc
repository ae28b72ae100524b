// Fuzzes the time-series chunk decoder (and the WAL record and chunk-file entry decoders that
// read the same files): any bytes decode to a consistent chunk or an error, never a crash. A chunk
// that decodes re-encodes to one that decodes to the same points, bit for bit.
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "store/crc32c.h"
#include "store/tsdb_chunk.h"
#include "store/tsdb_internal.h"

namespace {

using verge::store::DecodedChunk;
using verge::store::ValueType;

void check(bool ok) {
  if (!ok) std::abort();
}

std::string reencode(const DecodedChunk& d) {
  switch (d.type) {
    case ValueType::Float:
      return verge::store::encode_float_chunk(d.ts, d.floats);
    case ValueType::Int:
      return verge::store::encode_int_chunk(d.ts, d.ints);
    case ValueType::Bool:
      return verge::store::encode_bool_chunk(d.ts, d.ints);
    case ValueType::String:
      return verge::store::encode_string_chunk(d.ts, d.strings);
  }
  return {};
}

// Random bytes almost never carry a right CRC: also decode a copy whose payload size and CRC are
// fixed up, so the fuzzer reaches the payload decoder.
std::string resealed(std::string_view in) {
  std::string s(in);
  if (s.size() < verge::store::kChunkHeaderSize + verge::store::kChunkTrailerSize) return s;
  const size_t payload =
      s.size() - verge::store::kChunkHeaderSize - verge::store::kChunkTrailerSize;
  for (int i = 0; i < 4; ++i) s[24 + i] = static_cast<char>((payload >> (8 * i)) & 0xff);
  const uint32_t crc = verge::store::crc32c(std::string_view(s).substr(0, s.size() - 4));
  for (int i = 0; i < 4; ++i) s[s.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  return s;
}

void check_chunk(std::string_view bytes) {
  auto d = verge::store::decode_chunk(bytes);
  if (d) {
    const size_t n = d->ts.size();
    check(n >= 1 && n <= verge::store::kMaxChunkPoints);
    for (size_t i = 1; i < n; ++i) check(d->ts[i - 1] <= d->ts[i]);
    const size_t values = d->floats.size() + d->ints.size() + d->strings.size();
    check(values == n);
    auto again = verge::store::decode_chunk(reencode(*d));
    check(again.has_value());
    check(again->ts == d->ts && again->ints == d->ints && again->strings == d->strings);
    check(again->floats.size() == d->floats.size());
    for (size_t i = 0; i < d->floats.size(); ++i) {
      check(std::bit_cast<uint64_t>(again->floats[i]) == std::bit_cast<uint64_t>(d->floats[i]));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_chunk(bytes);
  check_chunk(resealed(bytes));
  // The other readers of the store's files get the same bytes.
  size_t entry_size = 0;
  uint64_t seq = 0;
  (void)verge::store::tsdb_detail::wal_decode(
      bytes,
      [](verge::store::SeriesId id) -> std::optional<ValueType> {
        if (id > 40) return std::nullopt;
        return static_cast<ValueType>(id % 4 + 1);
      },
      seq);
  (void)verge::store::tsdb_detail::decode_catalog_entry(bytes, entry_size);
  auto e = verge::store::tsdb_detail::decode_entry(bytes, entry_size);
  if (e) check(entry_size <= size);
  return 0;
}
