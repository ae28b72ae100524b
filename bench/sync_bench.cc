// verge_sync_bench: the uplink batch codec's speed on what a node sends, batches of telemetry
// JSON records (~100 bytes each): encode and decode records/s, on one thread, for zstd levels
// 0 (plain), 1 (the default) and 3, and the compression ratio (body bytes / wire bytes).
//
//   verge_sync_bench [--batch N] [--seconds S]
//
// Prints one line per level; exits non-zero when a batch does not decode to what was encoded.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sync/batch.h"

namespace {

using Clock = std::chrono::steady_clock;
using verge::sync::BatchEncodeOptions;
using verge::sync::BatchRecordIn;
using verge::sync::decode_batch;
using verge::sync::encode_batch;

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Records like the simulator's and a rule's output: varying device, timestamp and readings.
std::vector<std::string> make_records(size_t n, int64_t ts0) {
  std::mt19937 rng(42);
  std::normal_distribution<double> temp(21.5, 2.0), hum(45.0, 8.0);
  std::vector<std::string> out;
  char buf[160];
  for (size_t i = 0; i < n; ++i) {
    const int len = std::snprintf(
        buf, sizeof buf,
        R"({"site":"plant-3","device":"d%zu","ts":%lld,"temp":%.2f,"humidity":%.1f,"status":"ok","seq":%zu})",
        i % 10, static_cast<long long>(ts0 + static_cast<int64_t>(i) * 5), temp(rng), hum(rng), i);
    out.emplace_back(buf, static_cast<size_t>(len));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t batch = 2000;
  double seconds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--batch") == 0) batch = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::strtod(argv[i + 1], nullptr);
  }
  const int64_t ts0 = 1700000000000;
  const auto payloads = make_records(batch, ts0);
  std::vector<BatchRecordIn> in;
  size_t payload_bytes = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    in.push_back({ts0 + static_cast<int64_t>(i) * 5, payloads[i]});
    payload_bytes += payloads[i].size();
  }
  std::printf("batch %zu records, mean record %.1f bytes, %.1f s per level\n", batch,
              static_cast<double>(payload_bytes) / static_cast<double>(batch), seconds);

  for (const int level : {0, 1, 3}) {
    BatchEncodeOptions opts{.zstd_level = level};
    std::string wire;
    size_t body = 0;
    // Encode.
    uint64_t batches = 0;
    auto start = Clock::now();
    while (secs(Clock::now() - start) < seconds) {
      wire.clear();
      body = encode_batch(batches * batch, in, opts, wire);
      ++batches;
    }
    const double enc_rate = static_cast<double>(batches * batch) / secs(Clock::now() - start);
    // Decode (and check it once).
    auto check = decode_batch(wire);
    if (!check || check->records.size() != batch ||
        check->records.back().payload != payloads.back()) {
      std::fprintf(stderr, "level %d: decode mismatch\n", level);
      return 1;
    }
    batches = 0;
    start = Clock::now();
    while (secs(Clock::now() - start) < seconds) {
      auto d = decode_batch(wire);
      if (!d) return 1;
      ++batches;
    }
    const double dec_rate = static_cast<double>(batches * batch) / secs(Clock::now() - start);
    std::printf(
        "zstd level %d: encode %.2f M records/s, decode %.2f M records/s, body %zu B, wire %zu B, "
        "ratio %.2f, %.1f wire bytes/record\n",
        level, enc_rate / 1e6, dec_rate / 1e6, body, wire.size(),
        static_cast<double>(body) / static_cast<double>(wire.size()),
        static_cast<double>(wire.size()) / static_cast<double>(batch));
  }
  return 0;
}
