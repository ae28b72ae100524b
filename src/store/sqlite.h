// A small RAII wrapper over SQLite for the metadata store (and any later small relational state).
// Everything returns Result; errors carry SQLite's message and the SQL that failed.
//
//   auto db = Database::open(dir + "/meta.db", DatabaseOptions{});
//   auto tx = Transaction::begin(**db);                 // BEGIN IMMEDIATE
//   auto st = (*db)->prepare("INSERT INTO kv VALUES (?1, ?2)");
//   st->bind_text(1, "a"); st->bind_int(2, 7); st->run();
//   tx->commit();                                      // or rollback when tx goes out of scope
//
// Threading: a Database (with its statements and transactions) is used by one thread at a time.
// Either give each thread its own Database on the same file (WAL lets readers run while one
// writer writes) or guard a shared one with a mutex. Writes are serialised: at most one
// connection holds a write transaction; another writer waits up to `busy_timeout` and then gets
// an error ("database is locked"), it never corrupts.
//
// Lifetime: Statements and Transactions refer to their Database, which must outlive them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace verge::store {

enum class Synchronous : uint8_t {
  Normal,  // WAL + NORMAL: a power cut may lose the last commits, never corrupts
  Full,    // fsync on every commit: a committed transaction survives a power cut
};

struct DatabaseOptions {
  Synchronous synchronous = Synchronous::Full;
  std::chrono::milliseconds busy_timeout{5000};
  bool read_only = false;  // for a second connection that only reads (e.g. another thread)
};

class Database;

// A prepared statement borrowed from its Database's cache. Bind indexes start at 1 (SQLite's
// rule); column indexes start at 0. Values returned as string_view stay valid until the next
// step(), reset() or the destruction of the statement. On destruction the statement is reset,
// its bindings cleared, and it goes back to the cache.
class Statement {
 public:
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Result<void> bind_int(int index, int64_t v);
  Result<void> bind_double(int index, double v);
  Result<void> bind_text(int index, std::string_view v);  // copied by SQLite
  Result<void> bind_blob(int index, std::string_view bytes);
  Result<void> bind_null(int index);

  // true: a row is available through the column getters; false: the statement is done.
  Result<bool> step();
  // Steps to the end, for statements that return no rows (INSERT, UPDATE, ...).
  Result<void> run();
  // Makes the statement ready to run again; bindings are kept.
  void reset();

  int column_count() const;
  bool column_is_null(int col) const;
  int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string_view column_text(int col) const;
  std::string_view column_blob(int col) const;

  const std::string& sql() const { return sql_; }

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt, std::string sql)
      : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  Result<void> check_bind(int rc, int index);

  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Database {
 public:
  // Opens (creating when missing, unless read_only) and configures: WAL journal, synchronous,
  // busy timeout, foreign keys on. A file that is not a database fails here with SQLite's
  // "file is not a database".
  static Result<std::unique_ptr<Database>> open(const std::string& path,
                                                const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs a script of one or more statements without parameters (schema, pragmas).
  Result<void> exec(std::string_view sql);
  // A prepared statement for `sql`, from the cache when this text was prepared before and is not
  // in use; a statement in use (e.g. a nested query of the same text) gets a fresh one.
  Result<Statement> prepare(std::string_view sql);
  // Convenience for a single-row, single-integer query such as "PRAGMA user_version".
  Result<int64_t> query_int(std::string_view sql);
  // Every row of a query of two text columns (small tables of named documents).
  Result<std::vector<std::pair<std::string, std::string>>> query_pairs(std::string_view sql);

  int64_t last_insert_rowid() const;
  int64_t changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  bool in_transaction() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // "<what>: <SQLite message> (sql: <sql>)", with the current error of this connection.
  Error error(std::string_view what, std::string_view sql = {}) const;

 private:
  friend class Statement;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void give_back(sqlite3_stmt* stmt, std::string sql);

  sqlite3* db_;
  std::string path_;
  // Idle prepared statements by SQL text; one per text is enough for our access patterns.
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// BEGIN IMMEDIATE on construction (takes the write lock at once, so a transaction never fails
// half-way for lock upgrade); rolls back in the destructor unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Result<void> commit();
  Result<void> rollback();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed or rolled back
};

}  // namespace verge::store
