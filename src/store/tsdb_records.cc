// The byte formats of the store around its chunks: WAL records and chunk-file entries
// (docs/formats/tsdb-chunk.md). Both decoders take bytes that may be damaged and return errors.
#include <bit>
#include <cstdio>
#include <ctime>

#include "store/crc32c.h"
#include "store/tsdb_bytes.h"
#include "store/tsdb_internal.h"

namespace verge::store::tsdb_detail {
namespace {

constexpr uint8_t kWalVersion = 3;
constexpr uint32_t kMaxEntryBytes = 64u << 20;

Unexpected<Error> bad(std::string what) { return unexpected(Error{std::move(what)}); }

}  // namespace

void wal_put_points(std::string& out, uint64_t seq, std::span<const Sample> samples,
                    std::span<const uint32_t> idx,
                    const std::function<ValueType(SeriesId)>& type_of) {
  out.push_back(static_cast<char>(kWalVersion));
  put_varint(out, seq);
  const int64_t base = idx.empty() ? 0 : samples[idx[0]].ts_ms;
  put_le(out, static_cast<uint64_t>(base), 8);
  size_t k = 0;
  while (k < idx.size()) {
    const SeriesId id = samples[idx[k]].series;
    size_t j = k;
    while (j < idx.size() && samples[idx[j]].series == id) ++j;
    const ValueType type = type_of(id);
    put_varint(out, id);
    put_varint(out, j - k);
    auto prev = static_cast<uint64_t>(base);
    for (size_t q = k; q < j; ++q) {
      const Sample& p = samples[idx[q]];
      put_varint(out, zigzag(static_cast<int64_t>(static_cast<uint64_t>(p.ts_ms) - prev)));
      prev = static_cast<uint64_t>(p.ts_ms);
      switch (type) {
        case ValueType::Float:
          put_le(out, std::bit_cast<uint64_t>(p.f), 8);
          break;
        case ValueType::Int:
          put_varint(out, zigzag(p.i));
          break;
        case ValueType::Bool:
          out.push_back(p.i != 0 ? '\1' : '\0');
          break;
        case ValueType::String:
          put_varint(out, p.s.size());
          out.append(p.s);
          break;
      }
    }
    k = j;
  }
}

Result<std::vector<WalRun>> wal_decode(
    std::string_view record, const std::function<std::optional<ValueType>(SeriesId)>& type_of,
    uint64_t& seq) {
  ByteReader r(record);
  if (r.le(1) != kWalVersion) return bad("unknown WAL record version");
  seq = r.varint();
  const uint64_t base = r.le(8);
  std::vector<WalRun> runs;
  while (r.ok() && r.left() > 0) {
    WalRun run;
    const uint64_t id = r.varint();
    const auto type = id <= UINT32_MAX ? type_of(static_cast<SeriesId>(id)) : std::nullopt;
    if (!r.ok()) break;
    if (!type) return bad("unknown series id " + std::to_string(id) + " in WAL record");
    run.id = static_cast<SeriesId>(id);
    run.points.type = *type;
    const uint64_t n = r.varint();
    if (n > r.left()) return bad("bad point count in WAL record");  // >= 1 byte per point
    uint64_t prev = base;
    for (uint64_t k = 0; k < n && r.ok(); ++k) {
      prev += static_cast<uint64_t>(unzigzag(r.varint()));
      run.points.ts.push_back(static_cast<int64_t>(prev));
      switch (*type) {
        case ValueType::Float:
          run.points.floats.push_back(std::bit_cast<double>(r.le(8)));
          break;
        case ValueType::Int:
          run.points.ints.push_back(unzigzag(r.varint()));
          break;
        case ValueType::Bool:
          run.points.ints.push_back(r.le(1) != 0 ? 1 : 0);
          break;
        case ValueType::String:
          run.points.strings.emplace_back(r.bytes(r.varint()));
          break;
      }
    }
    if (!r.ok()) break;
    runs.push_back(std::move(run));
  }
  if (!r.ok()) return bad("truncated WAL record");
  return runs;
}

namespace {

// Catalog and chunk-file entries: 4 bytes length (body + CRC), body, CRC32C of the body.
std::string frame(const std::string& body) {
  std::string out;
  out.reserve(body.size() + 8);
  put_le(out, body.size() + 4, 4);
  out.append(body);
  put_le(out, crc32c(body), 4);
  return out;
}

Result<std::string_view> unframe(std::string_view bytes, size_t& size) {
  ByteReader head(bytes);
  const uint64_t len = head.le(4);
  if (!head.ok()) return bad("truncated entry header");
  if (len < 4 || len > kMaxEntryBytes) return bad("bad entry length");
  if (len > head.left()) return bad("truncated entry");
  size = 4 + len;
  const std::string_view body = bytes.substr(4, len - 4);
  ByteReader crc(bytes.substr(len, 4));
  if (crc32c(body) != crc.le(4)) return bad("entry CRC mismatch");
  return body;
}

}  // namespace

std::string encode_catalog_entry(const CatalogEntry& e) {
  std::string body;
  put_varint(body, e.id);
  body.push_back(static_cast<char>(e.type));
  put_varint(body, e.name.size());
  body.append(e.name);
  put_varint(body, e.group.size());
  body.append(e.group);
  return frame(body);
}

Result<CatalogEntry> decode_catalog_entry(std::string_view bytes, size_t& size) {
  auto body = unframe(bytes, size);
  if (!body) return unexpected(body.error());
  ByteReader r(*body);
  CatalogEntry e;
  const uint64_t id = r.varint();
  const auto type = r.le(1);
  e.name = std::string(r.bytes(r.varint()));
  e.group = std::string(r.bytes(r.varint()));
  if (!r.ok() || r.left() != 0 || id > UINT32_MAX) return bad("bad catalog entry");
  if (type < 1 || type > 4) return bad("bad value type in catalog entry");
  e.id = static_cast<SeriesId>(id);
  e.type = static_cast<ValueType>(type);
  return e;
}

std::string encode_entry(const FileEntry& e) {
  std::string body;
  body.push_back(static_cast<char>(e.kind));
  body.push_back(static_cast<char>(e.type));
  put_varint(body, e.name.size());
  body.append(e.name);
  put_le(body, e.aux, 8);
  if (e.kind == EntryKind::Raw) {
    body.append(e.chunk);
  } else {
    put_varint(body, e.rollups.size());
    int64_t prev = 0;
    for (const auto& [start, r] : e.rollups) {
      put_varint(body, zigzag(static_cast<int64_t>(static_cast<uint64_t>(start) -
                                                   static_cast<uint64_t>(prev))));
      prev = start;
      for (double v : {r.sum, r.min, r.max, r.first, r.last}) {
        put_le(body, std::bit_cast<uint64_t>(v), 8);
      }
      put_varint(body, r.count);
      put_le(body, static_cast<uint64_t>(r.first_ts), 8);
      put_le(body, static_cast<uint64_t>(r.last_ts), 8);
    }
  }
  return frame(body);
}

Result<FileEntry> decode_entry(std::string_view bytes, size_t& size) {
  auto framed = unframe(bytes, size);
  if (!framed) return unexpected(framed.error());
  const std::string_view body = *framed;
  ByteReader r(body);
  FileEntry e;
  const auto kind = r.le(1), type = r.le(1);
  if (kind < 1 || kind > 2) return bad("unknown entry kind");
  if (type < 1 || type > 4) return bad("bad value type in entry");
  e.kind = static_cast<EntryKind>(kind);
  e.type = static_cast<ValueType>(type);
  e.name = std::string(r.bytes(r.varint()));
  e.aux = r.le(8);
  if (!r.ok()) return bad("truncated entry");
  if (e.kind == EntryKind::Raw) {
    e.chunk = std::string(r.bytes(r.left()));
    return e;
  }
  const uint64_t n = r.varint();
  if (n > r.left() / 57 + 1) return bad("bad rollup count");
  int64_t prev = 0;
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    prev = static_cast<int64_t>(static_cast<uint64_t>(prev) +
                                static_cast<uint64_t>(unzigzag(r.varint())));
    Rollup ro;
    ro.sum = std::bit_cast<double>(r.le(8));
    ro.min = std::bit_cast<double>(r.le(8));
    ro.max = std::bit_cast<double>(r.le(8));
    ro.first = std::bit_cast<double>(r.le(8));
    ro.last = std::bit_cast<double>(r.le(8));
    ro.count = r.varint();
    ro.first_ts = static_cast<int64_t>(r.le(8));
    ro.last_ts = static_cast<int64_t>(r.le(8));
    e.rollups.emplace_back(prev, ro);
  }
  if (!r.ok() || r.left() != 0) return bad("bad rollup entry");
  return e;
}

std::string day_name(int64_t ts) {
  // Floor division: days before 1970 stay in order.
  const int64_t day = ts >= 0 ? ts / 86400000 : -((-ts + 86399999) / 86400000);
  const auto t = static_cast<std::time_t>(day * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
                tm.tm_mday);
  return buf;
}

int64_t day_end(std::string_view s) {
  if (s.size() != 8) return kMinTs;
  for (char c : s) {
    if (c < '0' || c > '9') return kMinTs;
  }
  std::tm tm{};
  tm.tm_year = std::stoi(std::string(s.substr(0, 4))) - 1900;
  tm.tm_mon = std::stoi(std::string(s.substr(4, 2))) - 1;
  tm.tm_mday = std::stoi(std::string(s.substr(6, 2))) + 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace verge::store::tsdb_detail
