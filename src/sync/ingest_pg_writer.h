// The PostgreSQL ingest store's write connection: its own libpq connection (store::Postgres keeps
// its connection private, and COPY needs PQputCopyData). One transaction per batch slice: lock
// and read the stream's cursor row, COPY the new records in binary format (payloads as bytea,
// byte for byte), move the cursor, commit. Not thread-safe: the store thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sync/batch.h"
#include "sync/ingest_store.h"

using PGconn = struct pg_conn;

namespace verge::sync::ingest {

class PgWriter {
 public:
  static Result<std::unique_ptr<PgWriter>> connect(const std::string& url);
  ~PgWriter();
  PgWriter(const PgWriter&) = delete;
  PgWriter& operator=(const PgWriter&) = delete;

  // Stores the records of `batch` at or above the stream's cursor, in one transaction.
  // `bytes` gets the payload bytes written.
  Result<StoreOutcome> store(std::string_view node, std::string_view stream,
                             const DecodedBatch& batch, uint64_t& bytes);

 private:
  explicit PgWriter(PGconn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  Result<void> exec(const char* sql);
  Result<uint64_t> lock_cursor(std::string_view node, std::string_view stream);
  Result<void> set_cursor(std::string_view node, std::string_view stream, uint64_t next);
  Result<void> copy(std::string_view node, std::string_view stream, uint64_t first_seq,
                    std::span<const DecodedRecord> records, uint64_t& bytes);
  bool ensure_connected();

  PGconn* conn_;
  std::string url_;
};

}  // namespace verge::sync::ingest
