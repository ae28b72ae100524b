#include "sync/batch.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

namespace verge::sync {
namespace {

struct Owned {
  int64_t ts;
  std::string payload;
};

std::string encode(uint64_t first_seq, const std::vector<Owned>& recs,
                   BatchEncodeOptions opts = {}) {
  std::vector<BatchRecordIn> in;
  for (const auto& r : recs) in.push_back({r.ts, r.payload});
  std::string out;
  encode_batch(first_seq, in, opts, out);
  return out;
}

std::vector<Owned> sample(size_t n) {
  std::vector<Owned> recs;
  for (size_t i = 0; i < n; ++i) {
    recs.push_back({1700000000000 + static_cast<int64_t>(i * 10),
                    R"({"device":"d)" + std::to_string(i % 7) + R"(","temp":)" +
                        std::to_string(20 + i % 5) + "}"});
  }
  return recs;
}

void expect_same(const std::vector<Owned>& want, uint64_t first_seq, const DecodedBatch& got) {
  ASSERT_EQ(got.records.size(), want.size());
  EXPECT_EQ(got.first_seq, first_seq);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.records[i].seq, first_seq + i);
    EXPECT_EQ(got.records[i].ts_ms, want[i].ts);
    EXPECT_EQ(got.records[i].payload, want[i].payload);
  }
}

// Byte 3 is the flags byte: bit 0 says the body is zstd, bit 1 "gap before".
bool compressed(const std::string& wire) { return (static_cast<uint8_t>(wire[3]) & 1) != 0; }

TEST(UplinkBatch, RoundTripCompressed) {
  const auto recs = sample(100);
  const std::string wire = encode(42, recs);
  EXPECT_TRUE(compressed(wire));
  auto got = decode_batch(wire);
  ASSERT_TRUE(got) << got.error().message;
  expect_same(recs, 42, *got);
  EXPECT_EQ(got->wire_bytes, wire.size());
}

TEST(UplinkBatch, RoundTripUncompressed) {
  const auto recs = sample(100);
  const std::string wire = encode(7, recs, {.zstd_level = 0});
  EXPECT_FALSE(compressed(wire));
  auto got = decode_batch(wire);
  ASSERT_TRUE(got) << got.error().message;
  expect_same(recs, 7, *got);
}

TEST(UplinkBatch, SmallBodyStaysPlain) {
  const std::vector<Owned> recs{{5, "x"}};
  const std::string wire = encode(0, recs);
  EXPECT_FALSE(compressed(wire));
  auto got = decode_batch(wire);
  ASSERT_TRUE(got);
  expect_same(recs, 0, *got);
}

TEST(UplinkBatch, EmptyPayloadsAndEmptyBatch) {
  const std::vector<Owned> recs{{1, ""}, {2, ""}, {3, "a"}, {4, ""}};
  auto got = decode_batch(encode(9, recs));
  ASSERT_TRUE(got) << got.error().message;
  expect_same(recs, 9, *got);

  auto empty = decode_batch(encode(100, {}));
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty->first_seq, 100u);
  EXPECT_TRUE(empty->records.empty());
}

TEST(UplinkBatch, NegativeAndExtremeTimestamps) {
  const std::vector<Owned> recs{{1000, "a"},      {-5000, "b"},     {999, "c"},
                                {INT64_MAX, "d"}, {INT64_MIN, "e"}, {0, "f"}};
  auto got = decode_batch(encode(1, recs));
  ASSERT_TRUE(got) << got.error().message;
  expect_same(recs, 1, *got);

  const std::vector<Owned> negative_base{{-1, "a"}, {-2, "b"}};
  auto got2 = decode_batch(encode(0, negative_base));
  ASSERT_TRUE(got2) << got2.error().message;
  expect_same(negative_base, 0, *got2);
}

TEST(UplinkBatch, TenThousandRecords) {
  const auto recs = sample(10000);
  const std::string wire = encode(1u << 30, recs);
  auto got = decode_batch(wire);
  ASSERT_TRUE(got) << got.error().message;
  expect_same(recs, 1u << 30, *got);
  EXPECT_LT(wire.size(), got->body.size() / 3) << "repetitive JSON compresses well";
}

TEST(UplinkBatch, PayloadViewsSurviveMove) {
  // Short bodies must not live in the string's inline buffer: the views would dangle on move.
  const std::vector<Owned> recs{{1, "ab"}};
  auto got = decode_batch(encode(0, recs));
  ASSERT_TRUE(got);
  DecodedBatch moved = std::move(*got);
  DecodedBatch again = std::move(moved);
  EXPECT_EQ(again.records[0].payload, "ab");
  EXPECT_GE(again.records[0].payload.data(), again.body.data());
  EXPECT_LE(again.records[0].payload.data() + 2, again.body.data() + again.body.size());
}

TEST(UplinkBatch, EveryTruncationIsAnError) {
  for (const int level : {0, 1}) {
    const std::string wire = encode(3, sample(50), {.zstd_level = level});
    for (size_t n = 0; n < wire.size(); ++n) {
      auto got = decode_batch(std::string_view(wire).substr(0, n));
      EXPECT_FALSE(got) << "level " << level << " prefix " << n;
    }
    std::string longer = wire + "x";
    EXPECT_FALSE(decode_batch(longer));
  }
}

TEST(UplinkBatch, WrongMagicAndVersionRefused) {
  std::string wire = encode(0, sample(3));
  std::string bad = wire;
  bad[0] = 'X';
  auto r = decode_batch(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "batch: bad magic");
  bad = wire;
  bad[2] = 2;
  r = decode_batch(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("version 2"), std::string::npos) << r.error().message;
  bad = wire;
  bad[3] = 4;
  EXPECT_FALSE(decode_batch(bad));
}

TEST(UplinkBatch, GapBeforeFlagRoundTrips) {
  for (const int level : {0, 1}) {
    const auto recs = sample(100);
    const std::string wire = encode(20, recs, {.zstd_level = level, .gap_before = true});
    EXPECT_EQ(static_cast<uint8_t>(wire[3]) & 2, 2);
    EXPECT_EQ(compressed(wire), level > 0);
    auto got = decode_batch(wire);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_TRUE(got->gap_before);
    expect_same(recs, 20, *got);

    const std::string plain = encode(20, recs, {.zstd_level = level});
    EXPECT_EQ(static_cast<uint8_t>(plain[3]) & 2, 0);
    auto without = decode_batch(plain);
    ASSERT_TRUE(without) << without.error().message;
    EXPECT_FALSE(without->gap_before);
  }
  // An empty batch may announce a gap too.
  auto empty = decode_batch(encode(7, {}, {.gap_before = true}));
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->gap_before);
  EXPECT_EQ(empty->first_seq, 7u);
  EXPECT_TRUE(empty->records.empty());
  // Bits above bit 1 are still refused, with or without the known ones.
  for (const uint8_t flags : {4, 6, 7, 0x80}) {
    std::string bad = encode(0, sample(3));
    bad[3] = static_cast<char>(flags);
    auto r = decode_batch(bad);
    ASSERT_FALSE(r) << int{flags};
    EXPECT_NE(r.error().message.find("unknown flags"), std::string::npos) << r.error().message;
  }
}

TEST(UplinkBatch, BodyOverLimitRefused) {
  const std::string wire = encode(0, sample(1000));
  auto got = decode_batch(wire, 1000);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("over limit"), std::string::npos) << got.error().message;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::string header(uint8_t flags, uint64_t count, uint64_t body_len) {
  std::string out = "VB";
  out.push_back(1);
  out.push_back(static_cast<char>(flags));
  put_varint(out, 0);
  put_varint(out, count);
  put_varint(out, 0);
  put_varint(out, body_len);
  return out;
}

TEST(UplinkBatch, ZstdBombRefused) {
  // 65 MB of zeros compress to a few kB; the header claims a small body and the frame disagrees.
  const std::string zeros(65u << 20, '\0');
  std::string frame(ZSTD_compressBound(zeros.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), zeros.data(), zeros.size(), 1));
  ASSERT_LT(frame.size(), 1u << 20);

  auto lying = decode_batch(header(1, 10, 100) + frame);
  ASSERT_FALSE(lying);
  EXPECT_NE(lying.error().message.find("does not match"), std::string::npos);

  auto honest = decode_batch(header(1, 10, zeros.size()) + frame);
  ASSERT_FALSE(honest);
  EXPECT_NE(honest.error().message.find("over limit"), std::string::npos);
}

TEST(UplinkBatch, FrameWithoutSizeRefused) {
  // A frame that does not declare its size is refused rather than decompressed blindly.
  const std::string body("\x00\x01x", 3);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  std::string frame(ZSTD_compressBound(body.size()), '\0');
  const size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), body.data(), body.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  auto got = decode_batch(header(1, 1, body.size()) + frame);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("does not match"), std::string::npos) << got.error().message;
}

TEST(UplinkBatch, CountLargerThanBodyRefused) {
  // A count of 2^40 with a tiny body must fail before anything is reserved for it.
  auto got = decode_batch(header(0, uint64_t{1} << 40, 4) + "\x00\x01xy");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("count"), std::string::npos) << got.error().message;
}

TEST(UplinkBatch, RecordLengthPastBodyRefused) {
  std::string body;
  put_varint(body, 0);
  put_varint(body, 1000);  // claims 1000 payload bytes
  body += "abc";
  auto got = decode_batch(header(0, 1, body.size()) + body);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message, "batch: record 0 truncated");
}

TEST(UplinkBatch, OverlongVarintRefused) {
  std::string wire = "VB";
  wire.push_back(1);
  wire.push_back(0);
  wire.append(11, '\xff');
  EXPECT_FALSE(decode_batch(wire));
}

}  // namespace
}  // namespace verge::sync
