#include "store/tsdb_chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "store/bitstream.h"
#include "store/crc32c.h"

namespace verge::store {
namespace {

uint64_t bits(double d) { return std::bit_cast<uint64_t>(d); }

void expect_floats(const std::vector<int64_t>& ts, const std::vector<double>& v) {
  const std::string c = encode_float_chunk(ts, v);
  auto d = decode_chunk(c);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->type, ValueType::Float);
  EXPECT_EQ(d->ts, ts);
  ASSERT_EQ(d->floats.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(bits(d->floats[i]), bits(v[i])) << i;
}

void expect_ints(const std::vector<int64_t>& ts, const std::vector<int64_t>& v) {
  auto d = decode_chunk(encode_int_chunk(ts, v));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->type, ValueType::Int);
  EXPECT_EQ(d->ts, ts);
  EXPECT_EQ(d->ints, v);
}

TEST(BitStream, RoundTripsWidthsAndStopsAtTheEnd) {
  BitWriter w;
  w.write(1, 1);
  w.write(0x1234, 13);
  w.write(~uint64_t{0}, 64);
  w.write(5, 3);
  BitReader r(w.bytes());
  EXPECT_EQ(r.read(1), 1u);
  EXPECT_EQ(r.read(13), 0x1234u);
  EXPECT_EQ(r.read(64), ~uint64_t{0});
  EXPECT_EQ(r.read(3), 5u);
  EXPECT_TRUE(r.ok());
  EXPECT_LT(r.remaining_bits(), 8u);
  EXPECT_EQ(r.read(9), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(TsdbChunk, FloatSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_floats({1, 2, 3, 4, 5, 6, 7, 8},
                {0.0, -0.0, nan, inf, -inf, std::numeric_limits<double>::denorm_min(),
                 std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()});
  expect_floats({0, 1}, {-0.0, 0.0});  // -0.0 must not be taken for a decimal 0
}

TEST(TsdbChunk, OnePointOfEveryType) {
  expect_floats({1700000000000}, {21.5});
  expect_floats({-5}, {std::numeric_limits<double>::quiet_NaN()});
  expect_ints({42}, {std::numeric_limits<int64_t>::min()});
  auto b = decode_chunk(encode_bool_chunk(std::vector<int64_t>{7}, std::vector<int64_t>{1}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ints, std::vector<int64_t>{1});
  std::vector<std::string> s{"only"};
  auto sd = decode_chunk(encode_string_chunk(std::vector<int64_t>{7}, s));
  ASSERT_TRUE(sd);
  EXPECT_EQ(sd->strings, s);
}

TEST(TsdbChunk, HugeAndNegativeDeltas) {
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  expect_ints({lo, lo + 1, 0, 0, hi - 1, hi}, {hi, lo, 0, -1, hi, lo});
  expect_floats({lo, -1000, -999, hi}, {1.5, -2.25, 1e300, -1e-300});
  // Irregular steps: each bucket width of the timestamp encoding, both signs.
  std::vector<int64_t> ts{0};
  for (int64_t step :
       std::vector<int64_t>{1, 1000, 1000, 3, 40000, 5000000, 1, 1, int64_t{1} << 40, 2}) {
    ts.push_back(ts.back() + step);
  }
  expect_floats(ts, std::vector<double>(ts.size(), 3.0));
  std::vector<int64_t> v;
  for (size_t i = 0; i < ts.size(); ++i)
    v.push_back(i % 2 ? -(int64_t{1} << (i * 5)) : (int64_t{1} << (i * 3)));
  expect_ints(ts, v);
}

TEST(TsdbChunk, RandomFloatsAndDecimalsRoundTrip) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> ts;
  std::vector<double> noisy, decimal, mixed;
  double walk = 21.0;
  for (int i = 0; i < 1000; ++i) {
    ts.push_back(1700000000000 + i * 1000 + static_cast<int64_t>(rng() % 3));
    noisy.push_back(std::bit_cast<double>(rng()));
    walk = std::round((walk + (static_cast<double>(rng() % 3) - 1) * 0.1) * 10) / 10;
    decimal.push_back(walk);
    mixed.push_back(i == 500 ? 1.0 / 3 : walk);
  }
  expect_floats(ts, noisy);
  expect_floats(ts, decimal);
  expect_floats(ts, mixed);
  // The decimal encoding is what makes a 0.1-resolution sensor cheap.
  EXPECT_LT(encode_float_chunk(ts, decimal).size(), 1000u * 2);
  auto h = read_chunk_header(encode_float_chunk(ts, decimal));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->encoding, static_cast<uint8_t>(FloatEncoding::Decimal));
  EXPECT_EQ(h->decimals, 1);
  h = read_chunk_header(encode_float_chunk(ts, mixed));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->encoding, static_cast<uint8_t>(FloatEncoding::Xor));
}

TEST(TsdbChunk, IntsBoolsStringsRoundTrip) {
  std::mt19937_64 rng(3);
  std::vector<int64_t> ts, ints, bools;
  std::vector<std::string> strs;
  const char* states[] = {"idle", "running", "fault", ""};
  for (int i = 0; i < 3000; ++i) {
    ts.push_back(i * 10);
    ints.push_back(static_cast<int64_t>(rng() >> (rng() % 64)) * (i % 2 ? 1 : -1));
    bools.push_back(static_cast<int64_t>(rng() % 2));
    strs.emplace_back(states[rng() % 100 < 90 ? 0 : rng() % 4]);
  }
  expect_ints(ts, ints);
  auto b = decode_chunk(encode_bool_chunk(ts, bools));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, ValueType::Bool);
  EXPECT_EQ(b->ints, bools);
  auto s = decode_chunk(encode_string_chunk(ts, strs));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type, ValueType::String);
  EXPECT_EQ(s->strings, strs);
  // A counter rising steadily costs about two bits per point (timestamp and value).
  std::vector<int64_t> counter;
  for (int i = 0; i < 3000; ++i) counter.push_back(1000 + 5 * i);
  EXPECT_LT(encode_int_chunk(ts, counter).size(), 3000u / 4 + 64);
}

TEST(TsdbChunk, MaxPoints) {
  std::vector<int64_t> ts(kMaxChunkPoints);
  std::vector<double> v(kMaxChunkPoints);
  for (size_t i = 0; i < ts.size(); ++i) {
    ts[i] = static_cast<int64_t>(i);
    v[i] = static_cast<double>(i) * 0.5;
  }
  expect_floats(ts, v);
}

// Re-seals a modified chunk so a test reaches the checks behind the CRC.
std::string reseal(std::string c) {
  c.resize(c.size() - kChunkTrailerSize);
  const uint32_t crc = crc32c(c);
  for (int i = 0; i < 4; ++i) c.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return c;
}

std::string sample_chunk() {
  std::vector<int64_t> ts{1000, 2000, 3000};
  std::vector<double> v{1.5, 2.25, 1.0 / 3};
  return encode_float_chunk(ts, v);
}

void expect_error(const std::string& bytes, std::string_view what) {
  auto d = decode_chunk(bytes);
  ASSERT_FALSE(d) << "decoded " << what;
  EXPECT_NE(d.error().message.find(what), std::string::npos) << d.error().message;
}

TEST(TsdbChunk, TruncatedAtEveryLengthIsAnError) {
  const std::string c = sample_chunk();
  for (size_t n = 0; n < c.size(); ++n) {
    EXPECT_FALSE(decode_chunk(c.substr(0, n))) << n;
  }
  expect_error(c.substr(0, 10), "truncated header");
  expect_error(c.substr(0, c.size() - 1), "truncated");
  expect_error(c + "x", "trailing bytes");
}

TEST(TsdbChunk, EveryFlippedBitFailsTheCrc) {
  const std::string c = sample_chunk();
  for (size_t i = 0; i < c.size(); ++i) {
    if (i >= 24 && i < 28) continue;  // the payload length: a size error instead
    for (int b = 0; b < 8; ++b) {
      std::string x = c;
      x[i] = static_cast<char>(x[i] ^ (1 << b));
      expect_error(x, "CRC mismatch");
    }
  }
}

TEST(TsdbChunk, BadHeaderFields) {
  const std::string c = sample_chunk();
  auto with = [&](size_t at, uint8_t byte) {
    std::string x = c;
    x[at] = static_cast<char>(byte);
    return reseal(x);
  };
  expect_error(with(0, 2), "unknown version");
  expect_error(with(1, 0), "unknown value type");
  expect_error(with(1, 9), "unknown value type");
  expect_error(with(2, 7), "unknown float encoding");
  expect_error(with(3, 10), "too many decimals");
  expect_error(with(4, 0), "bad point count");             // count 3 -> 0
  expect_error(with(4, 4), "truncated payload");           // one point more than the payload holds
  expect_error(with(4, 2), "does not match the header");   // one fewer
  expect_error(with(16, 0), "does not match the header");  // last ts 3000 -> 2816
  std::string x = c;
  for (int i = 16; i < 24; ++i) x[i] = 0;  // last ts 0 < first ts
  expect_error(reseal(x), "last timestamp before first");
  // An int chunk must not carry a float encoding.
  std::vector<int64_t> ts{1}, iv{1};
  std::string ic = encode_int_chunk(ts, iv);
  ic[2] = 1;
  expect_error(reseal(ic), "encoding set on a non-float chunk");
}

TEST(TsdbChunk, BadPayloads) {
  // Timestamps going backwards (the encoder's caller broke its contract, or a forger).
  std::vector<int64_t> back{1000, 500, 1000};
  std::vector<double> three{1, 2, 3};
  expect_error(encode_float_chunk(back, three), "out of order");
  std::vector<int64_t> ts{1000, 2000};
  std::vector<double> v{1, 2};
  std::string c = encode_float_chunk(ts, v);
  std::string x;
  // Trailing payload bytes: grow the payload by a zero byte.
  x = c;
  x.resize(x.size() - kChunkTrailerSize);
  x.push_back('\0');
  x[24] = static_cast<char>(x[24] + 1);
  expect_error(reseal(x + "    "), "trailing payload bytes");
  // A '10' XOR control word before any window exists.
  std::vector<int64_t> same_ts{1000, 1000};
  std::vector<double> thirds{1.0 / 3, 2.0 / 3};
  x = encode_float_chunk(same_ts, thirds);
  x[kChunkHeaderSize + 8] = static_cast<char>(0b01000000);  // ts dod '0', value '10'
  x[kChunkHeaderSize + 9] = 0;
  expect_error(reseal(x), "bad XOR window");
  // Strings: an empty dictionary and an index beyond it.
  std::vector<std::string> s{"a", "b"};
  std::string sc = encode_string_chunk(ts, s);
  x = sc;
  x[kChunkHeaderSize] = 0;
  expect_error(reseal(x), "bad dictionary");
  x = sc;
  x[kChunkHeaderSize + 1] = 100;  // length of "a" beyond the payload
  expect_error(reseal(x), "bad dictionary entry");
  x = sc;
  x[kChunkHeaderSize] = 1;  // one entry: index 1 ("b") is out of range; the rest shifts
  expect_error(reseal(x), "corrupt chunk");
}

}  // namespace
}  // namespace verge::store
