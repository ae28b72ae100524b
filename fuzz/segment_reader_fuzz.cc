// Fuzzes the segment reader: any bytes, read as a segment file, are walked exactly as recovery
// and reads walk them (header, then batches checked by length, CRC, records and offsets), and
// the walk stops at the first bad batch without crashing or reading past the end. The same
// bytes, split into records, must also survive an encode/decode round trip (zstd when the input
// length is odd). The small text files of a log (recovery checkpoints, cursors) are parsed
// from the same bytes: anything is a value or nothing/an error, and a value re-encodes to text
// that parses back to it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/checkpoint_file.h"
#include "store/cursor_file.h"
#include "store/segment_format.h"

using namespace verge::store;

namespace {

void walk_segment(const std::string& bytes) {
  MemoryFile file(bytes);
  auto base = decode_segment_header(bytes);
  const uint64_t start = base ? kSegmentHeaderSize : 0;
  BatchReader br(file, start, bytes.size());
  if (base) br.expect_offset(*base);
  BatchReader::Batch b;
  uint64_t pos = start;
  for (;;) {
    auto r = br.next(b);
    if (!r) {
      if (br.pos() != pos) std::abort();  // an error leaves the position at the bad batch
      break;
    }
    if (!*r) break;
    if (b.pos != pos || b.size < kBatchHeaderSize || br.pos() != pos + b.size) std::abort();
    if (br.pos() > bytes.size()) std::abort();
    if (b.records->size() != b.header.count) std::abort();
    for (size_t i = 0; i < b.records->size(); ++i) {
      if ((*b.records)[i].offset != b.header.base_offset + i) std::abort();
    }
    pos = br.pos();
  }
}

void round_trip(std::string_view in) {
  std::vector<std::string_view> recs;
  while (!in.empty()) {  // records separated by 0xFF bytes
    const size_t cut = in.find('\xFF');
    recs.push_back(in.substr(0, cut));
    in.remove_prefix(cut == std::string_view::npos ? in.size() : cut + 1);
  }
  if (recs.empty()) return;
  BatchBuilder bb;
  for (size_t i = 0; i < recs.size(); ++i) {
    const int64_t ts = static_cast<int64_t>(recs[i].size() * 7919) - 40000;
    bb.add(1000 + i, ts, recs[i]);
  }
  std::string out = encode_segment_header(1000);
  bb.finish(out, (in.size() + recs.size()) % 2 == 1);
  MemoryFile file(out);
  BatchReader br(file, kSegmentHeaderSize, out.size());
  br.expect_offset(1000);
  BatchReader::Batch b;
  auto r = br.next(b);
  if (!r || !*r || b.records->size() != recs.size()) std::abort();
  for (size_t i = 0; i < recs.size(); ++i) {
    const auto& d = (*b.records)[i];
    if (d.offset != 1000 + i || d.payload != recs[i]) std::abort();
    if (d.timestamp_ms != static_cast<int64_t>(recs[i].size() * 7919) - 40000) std::abort();
  }
  auto end = br.next(b);
  if (!end || *end) std::abort();
}

void parse_side_files(std::string_view text) {
  if (auto c = last_checkpoint(text)) {
    auto again = decode_checkpoint(encode_checkpoint(*c));
    if (!again || again->segment != c->segment || again->pos != c->pos || again->next != c->next ||
        again->max_ts != c->max_ts || again->index != c->index) {
      std::abort();
    }
  }
  if (auto m = decode_cursors(text)) {
    auto again = decode_cursors(encode_cursors(*m));
    if (!again || *again != *m) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  walk_segment(bytes);
  parse_side_files(bytes);
  if (size <= (1u << 16)) round_trip(bytes);
  return 0;
}
