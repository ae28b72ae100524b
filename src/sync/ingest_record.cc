#include "sync/ingest_record.h"

#include <algorithm>

#include "store/tsdb_bytes.h"

namespace verge::sync::ingest {
namespace {
using store::tsdb_detail::ByteReader;
using store::tsdb_detail::put_varint;
using store::tsdb_detail::unzigzag;
using store::tsdb_detail::zigzag;
constexpr uint8_t kVersion = 1;
}  // namespace

void encode_slice(std::string_view node, std::string_view stream, uint64_t first_seq,
                  std::span<const DecodedRecord> records, std::string& out) {
  out.clear();
  int64_t min_ts = records.empty() ? 0 : records.front().ts_ms;
  int64_t max_ts = min_ts;
  size_t payload_bytes = 0;
  for (const auto& r : records) {
    min_ts = std::min(min_ts, r.ts_ms);
    max_ts = std::max(max_ts, r.ts_ms);
    payload_bytes += r.payload.size();
  }
  out.reserve(32 + node.size() + stream.size() + payload_bytes + records.size() * 8);
  out.push_back(static_cast<char>(kVersion));
  put_varint(out, node.size());
  out.append(node);
  put_varint(out, stream.size());
  out.append(stream);
  put_varint(out, first_seq);
  put_varint(out, records.size());
  put_varint(out, zigzag(min_ts));
  put_varint(out, static_cast<uint64_t>(max_ts) - static_cast<uint64_t>(min_ts));
  for (const auto& r : records) {
    put_varint(out, static_cast<uint64_t>(r.ts_ms) - static_cast<uint64_t>(min_ts));
    put_varint(out, r.payload.size());
    out.append(r.payload);
  }
}

Result<SliceHeader> decode_slice_header(std::string_view slice) {
  if (slice.empty() || static_cast<uint8_t>(slice[0]) != kVersion) {
    return unexpected(Error{"ingest record: unknown version"});
  }
  ByteReader in(slice.substr(1));
  SliceHeader h;
  h.node = in.bytes(in.varint());
  h.stream = in.bytes(in.varint());
  h.first_seq = in.varint();
  h.count = in.varint();
  h.min_ts = unzigzag(in.varint());
  h.max_ts = static_cast<int64_t>(static_cast<uint64_t>(h.min_ts) + in.varint());
  if (!in.ok()) return unexpected(Error{"ingest record: truncated header"});
  h.body_pos = 1 + in.pos();
  return h;
}

Result<void> for_each_record(std::string_view slice, const SliceHeader& h,
                             const std::function<bool(uint64_t, int64_t, std::string_view)>& fn) {
  ByteReader in(slice.substr(h.body_pos));
  for (uint64_t i = 0; i < h.count; ++i) {
    const auto ts = static_cast<int64_t>(static_cast<uint64_t>(h.min_ts) + in.varint());
    const std::string_view payload = in.bytes(in.varint());
    if (!in.ok())
      return unexpected(Error{"ingest record: record " + std::to_string(i) + " truncated"});
    if (!fn(h.first_seq + i, ts, payload)) break;
  }
  return {};
}

}  // namespace verge::sync::ingest
