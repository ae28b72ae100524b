// A thin libpq wrapper for the hub's PostgreSQL storage option (`--storage postgres://...`):
// one connection, parameterised statements with text parameters, transactions. Not thread-safe:
// one owner (or the owner's mutex) per connection.
//
//   auto pg = Postgres::connect("postgres://verge@127.0.0.1:5432/verge");
//   (*pg)->exec("CREATE TABLE IF NOT EXISTS t (k text PRIMARY KEY, v bigint)");
//   (*pg)->exec_params("INSERT INTO t VALUES ($1, $2)", {"a", "1"});
//   auto rows = (*pg)->query("SELECT k, v FROM t WHERE v > $1", {"0"});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

using PGconn = struct pg_conn;

namespace verge::store {

struct PgRows {
  std::vector<std::string> columns;
  // rows[i][j]: the text of column j; nullopt for SQL NULL.
  std::vector<std::vector<std::optional<std::string>>> rows;
  size_t affected = 0;  // for INSERT/UPDATE/DELETE
};

class Postgres {
 public:
  // `url`: a libpq connection URI (postgres://user:pass@host:port/db?options). Errors carry the
  // server's message with the password removed.
  static Result<std::unique_ptr<Postgres>> connect(const std::string& url);
  ~Postgres();
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  // One or more statements without parameters.
  Result<void> exec(std::string_view sql);
  // One statement with $1.. parameters (text; nullopt = NULL). Errors carry the SQLSTATE and text.
  Result<PgRows> query(std::string_view sql,
                       const std::vector<std::optional<std::string>>& params = {});
  Result<size_t> exec_params(std::string_view sql,
                             const std::vector<std::optional<std::string>>& params);
  // BEGIN / COMMIT / ROLLBACK.
  Result<void> begin() { return exec("BEGIN"); }
  Result<void> commit() { return exec("COMMIT"); }
  Result<void> rollback() { return exec("ROLLBACK"); }

  // True if the connection is usable; reconnects once if not (after a server restart).
  bool ensure_connected();

 private:
  explicit Postgres(PGconn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  PGconn* conn_;
  std::string url_;
};

// True for "postgres://" and "postgresql://" URLs.
bool is_postgres_url(std::string_view storage);

}  // namespace verge::store
