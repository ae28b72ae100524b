#include "sync/ingest_pg_writer.h"

#include <libpq-fe.h>

#include <cstdint>
#include <limits>

namespace verge::sync::ingest {
namespace {

std::string trimmed(std::string msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

// Takes `res` (cleared here); an error names the statement's purpose.
Result<void> check(PGconn* conn, PGresult* res, ExecStatusType want, std::string_view what) {
  const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == want) {
    PQclear(res);
    return {};
  }
  std::string msg = trimmed(res != nullptr ? PQresultErrorMessage(res) : "");
  if (msg.empty()) msg = trimmed(PQerrorMessage(conn));
  PQclear(res);
  return unexpected(Error{"postgres: " + std::string(what) + ": " + msg});
}

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_field(std::string& out, std::string_view bytes) {
  put_be(out, bytes.size(), 4);
  out.append(bytes);
}

void put_int8(std::string& out, uint64_t v) {
  put_be(out, 8, 4);
  put_be(out, v, 8);
}

constexpr size_t kCopyChunk = 1 << 20;

}  // namespace

Result<std::unique_ptr<PgWriter>> PgWriter::connect(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = conn != nullptr ? trimmed(PQerrorMessage(conn)) : "out of memory";
    if (conn != nullptr) PQfinish(conn);
    return unexpected(Error{"postgres: cannot connect for ingest: " + msg});
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgWriter>(new PgWriter(conn, url));
}

PgWriter::~PgWriter() { PQfinish(conn_); }

bool PgWriter::ensure_connected() {
  if (PQstatus(conn_) == CONNECTION_OK) return true;
  PQreset(conn_);
  return PQstatus(conn_) == CONNECTION_OK;
}

Result<void> PgWriter::exec(const char* sql) {
  return check(conn_, PQexec(conn_, sql), PGRES_COMMAND_OK, sql);
}

// Creates the cursor row if needed and locks it until commit (a second hub writing the same
// stream waits here instead of interleaving).
Result<uint64_t> PgWriter::lock_cursor(std::string_view node, std::string_view stream) {
  const std::string n(node), s(stream);
  const char* params[] = {n.c_str(), s.c_str()};
  PGresult* res =
      PQexecParams(conn_,
                   "INSERT INTO uplink_cursors (node, stream, next_seq) VALUES ($1, $2, 0) "
                   "ON CONFLICT (node, stream) DO UPDATE SET next_seq = uplink_cursors.next_seq "
                   "RETURNING next_seq",
                   2, nullptr, params, nullptr, nullptr, 0);
  if (res == nullptr || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    if (res != nullptr && PQresultStatus(res) == PGRES_TUPLES_OK) {
      PQclear(res);
      return unexpected(Error{"postgres: cursor row not returned"});
    }
    auto r = check(conn_, res, PGRES_TUPLES_OK, "lock cursor");
    return unexpected(r.error());
  }
  const uint64_t next = std::strtoull(PQgetvalue(res, 0, 0), nullptr, 10);
  PQclear(res);
  return next;
}

Result<void> PgWriter::set_cursor(std::string_view node, std::string_view stream, uint64_t next) {
  const std::string n(node), s(stream), v = std::to_string(next);
  const char* params[] = {n.c_str(), s.c_str(), v.c_str()};
  return check(
      conn_,
      PQexecParams(conn_, "UPDATE uplink_cursors SET next_seq = $3 WHERE node = $1 AND stream = $2",
                   3, nullptr, params, nullptr, nullptr, 0),
      PGRES_COMMAND_OK, "move cursor");
}

// COPY in binary format: no escaping, payloads byte for byte.
Result<void> PgWriter::copy(std::string_view node, std::string_view stream, uint64_t first_seq,
                            std::span<const DecodedRecord> records, uint64_t& bytes) {
  auto started = check(conn_,
                       PQexec(conn_,
                              "COPY uplink_records (node, stream, seq, ts_ms, payload) FROM STDIN "
                              "(FORMAT binary)"),
                       PGRES_COPY_IN, "start copy");
  if (!started) return started;
  std::string buf("PGCOPY\n\377\r\n\0", 11);
  put_be(buf, 0, 4);  // flags
  put_be(buf, 0, 4);  // header extension length
  bool sent = true;
  const auto send = [&] {
    if (sent && PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1) sent = false;
    buf.clear();
  };
  uint64_t seq = first_seq;  // sequences are dense from the batch's first_seq
  for (const auto& r : records) {
    put_be(buf, 5, 2);
    put_field(buf, node);
    put_field(buf, stream);
    put_int8(buf, seq++);
    put_int8(buf, static_cast<uint64_t>(r.ts_ms));
    put_field(buf, r.payload);
    bytes += r.payload.size();
    if (buf.size() >= kCopyChunk) send();
  }
  put_be(buf, 0xffff, 2);  // trailer: -1
  send();
  if (PQputCopyEnd(conn_, sent ? nullptr : "send failed") != 1) {
    return unexpected(Error{"postgres: end copy: " + trimmed(PQerrorMessage(conn_))});
  }
  Result<void> result = {};
  while (PGresult* res = PQgetResult(conn_)) {
    auto r = check(conn_, res, PGRES_COMMAND_OK, "copy records");
    if (!r && result) result = r;
  }
  return result;
}

Result<StoreOutcome> PgWriter::store(std::string_view node, std::string_view stream,
                                     const DecodedBatch& batch, uint64_t& bytes) {
  const std::span<const DecodedRecord> records(batch.records);
  const uint64_t first = batch.first_seq, end = first + records.size();
  if (end > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || end < first) {
    return unexpected(Error{"ingest store: sequence " + std::to_string(end) + " out of range"});
  }
  if (!ensure_connected()) {
    return unexpected(Error{"postgres: not connected: " + trimmed(PQerrorMessage(conn_))});
  }
  const auto fail = [&](const Error& e) -> Result<StoreOutcome> {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) (void)exec("ROLLBACK");
    return unexpected(e);
  };
  if (auto r = exec("BEGIN"); !r) return fail(r.error());
  auto next = lock_cursor(node, stream);
  if (!next) return fail(next.error());
  StoreOutcome out;
  if (end <= *next) {  // nothing new (an empty batch above the cursor records a gap)
    out.duplicates = records.size();
    out.next_seq = *next;
    if (auto r = exec("COMMIT"); !r) return fail(r.error());
    return out;
  }
  if (first > *next && !batch.gap_before) {
    // Ahead of the cursor without the node saying the records before it are gone: a batch before
    // it was lost or not stored. Nothing is stored; the unchanged ack makes the node resend.
    out.next_seq = *next;
    out.refused_ahead = true;
    if (auto r = exec("COMMIT"); !r) return fail(r.error());
    return out;
  }
  const uint64_t skip = *next > first ? *next - first : 0;
  out.duplicates = skip;
  out.gap = first > *next ? first - *next : 0;
  out.stored = records.size() - skip;
  out.next_seq = end;
  if (out.stored > 0) {
    if (auto r = copy(node, stream, first + skip, records.subspan(skip), bytes); !r)
      return fail(r.error());
  }
  if (auto r = set_cursor(node, stream, end); !r) return fail(r.error());
  if (auto r = exec("COMMIT"); !r) return fail(r.error());
  return out;
}

}  // namespace verge::sync::ingest
