// Fuzzes the uplink batch decoder (sync/batch.h), the first thing the hub does with bytes a node
// sends: any input is a batch or an error, never a crash, an over-read or a huge allocation. A
// decoded batch must re-encode (plain and zstd) to bytes that decode to the same records.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sync/batch.h"

using namespace verge::sync;

namespace {

void check_round_trip(const DecodedBatch& batch, int level) {
  std::vector<BatchRecordIn> in;
  in.reserve(batch.records.size());
  for (const auto& r : batch.records) in.push_back({r.ts_ms, r.payload});
  std::string wire;
  encode_batch(batch.first_seq, in, BatchEncodeOptions{.zstd_level = level}, wire);
  auto again = decode_batch(wire);
  if (!again || again->records.size() != batch.records.size()) std::abort();
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const auto& a = batch.records[i];
    const auto& b = again->records[i];
    if (a.seq != b.seq || a.ts_ms != b.ts_ms || a.payload != b.payload) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // A small cap, so a fuzzer-made header cannot make each run allocate the default 64 MiB.
  auto batch = decode_batch(bytes, 1u << 20);
  if (!batch) return 0;
  if (batch->wire_bytes != size) std::abort();
  check_round_trip(*batch, 0);
  check_round_trip(*batch, 1);
  return 0;
}
