// The compressed chunk of one time series (docs/formats/tsdb-chunk.md): a fixed header, a bit
// stream of delta-of-delta timestamps and values (Gorilla XOR floats, or decimal-scaled integers
// when every float of the chunk is an exact decimal, zigzag delta-of-delta integers, one bit per
// bool, dictionary indexes for strings), and a CRC32C over all of it.
//
// Encoders take points sorted by timestamp. decode_chunk() takes outside bytes (files, fuzzers)
// and returns a value or an error, never crashes and never allocates more than the input implies.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::store {

enum class ValueType : uint8_t { Float = 1, Int = 2, Bool = 3, String = 4 };
const char* value_type_name(ValueType t);  // "float", "int", "bool", "string"

// How the values of a float chunk are stored; chosen per chunk by the encoder.
enum class FloatEncoding : uint8_t { Xor = 0, Decimal = 1 };

inline constexpr uint32_t kMaxChunkPoints = 65535;
inline constexpr size_t kChunkHeaderSize = 28;  // bytes before the payload
inline constexpr size_t kChunkTrailerSize = 4;  // the CRC32C

struct ChunkHeader {
  ValueType type = ValueType::Float;
  uint8_t encoding = 0;  // FloatEncoding for floats; 0 otherwise
  uint8_t decimals = 0;  // FloatEncoding::Decimal: values are integers / 10^decimals
  uint32_t count = 0;    // points, 1..kMaxChunkPoints
  int64_t first_ts = 0;  // ms since the epoch
  int64_t last_ts = 0;
  uint32_t payload_size = 0;
};

// Decoded columns. Bools are 0/1 in `ints`.
struct DecodedChunk {
  ValueType type = ValueType::Float;
  std::vector<int64_t> ts;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

// Each encoder requires 1..kMaxChunkPoints points, `ts` sorted ascending, columns of equal size.
std::string encode_float_chunk(std::span<const int64_t> ts, std::span<const double> values);
std::string encode_int_chunk(std::span<const int64_t> ts, std::span<const int64_t> values);
std::string encode_bool_chunk(std::span<const int64_t> ts, std::span<const int64_t> values);
std::string encode_string_chunk(std::span<const int64_t> ts, std::span<const std::string> values);

// Checks size and CRC and parses the header without decoding the payload. The chunk must be
// exactly `bytes` long (chunk_size() tells how long one is when it is followed by others).
Result<ChunkHeader> read_chunk_header(std::string_view bytes);
// Total size of the chunk at the start of `bytes`, from its header; error if it cannot be one.
Result<size_t> chunk_size(std::string_view bytes);
Result<DecodedChunk> decode_chunk(std::string_view bytes);

}  // namespace verge::store
