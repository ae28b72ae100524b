#include "store/sqlite.h"

#include <sqlite3.h>

#include <string>
#include <utility>

namespace verge::store {

namespace {

Error make_error(sqlite3* db, std::string_view what, std::string_view sql) {
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  if (!sql.empty()) {
    msg += " (sql: ";
    msg += sql;
    msg += ")";
  }
  return Error{std::move(msg)};
}

}  // namespace

// ---- Database --------------------------------------------------------------------------------

Result<std::unique_ptr<Database>> Database::open(const std::string& path,
                                                 const DatabaseOptions& options) {
  sqlite3* raw = nullptr;
  // NOMUTEX: a Database is used by one thread at a time (see the header), so SQLite's own
  // per-connection mutex would only cost.
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = make_error(raw, "cannot open " + path, {});
    sqlite3_close_v2(raw);  // a handle is returned even on failure
    return unexpected(std::move(e));
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
  // The first statement reads the header: a file that is not a database fails here.
  std::string setup = "PRAGMA foreign_keys=ON;";
  if (!options.read_only) setup += "PRAGMA journal_mode=WAL;";
  setup += options.synchronous == Synchronous::Full ? "PRAGMA synchronous=FULL;"
                                                    : "PRAGMA synchronous=NORMAL;";
  if (auto r = db->exec(setup); !r) {
    return unexpected(Error{"cannot open " + path + ": " + r.error().message});
  }
  if (!options.read_only) {
    // journal_mode silently stays "delete" or "memory" where WAL is impossible; say so.
    auto st = db->prepare("PRAGMA journal_mode");
    if (!st) return unexpected(st.error());
    auto row = st->step();
    if (!row) return unexpected(row.error());
    if (!*row || st->column_text(0) != "wal") {
      return unexpected(Error{"cannot open " + path + ": WAL journal mode not available"});
    }
  }
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  // close_v2 defers the close if a statement escaped the cache; none should, but never leak.
  sqlite3_close_v2(db_);
}

Error Database::error(std::string_view what, std::string_view sql) const {
  return make_error(db_, what, sql);
}

Result<void> Database::exec(std::string_view sql) {
  std::string text(sql);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string m = msg != nullptr ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return unexpected(Error{"sqlite: " + m + " (sql: " + text + ")"});
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  std::string text(sql);
  if (auto it = cache_.find(text); it != cache_.end()) {
    sqlite3_stmt* stmt = it->second;
    cache_.erase(it);
    return Statement(this, stmt, std::move(text));
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return unexpected(make_error(db_, "sqlite prepare", text));
  if (stmt == nullptr)
    return unexpected(Error{"sqlite prepare: empty statement (sql: " + text + ")"});
  return Statement(this, stmt, std::move(text));
}

void Database::give_back(sqlite3_stmt* stmt, std::string sql) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  auto [it, inserted] = cache_.try_emplace(std::move(sql), stmt);
  if (!inserted) sqlite3_finalize(stmt);  // a second copy of a text used concurrently
}

Result<int64_t> Database::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return unexpected(st.error());
  auto row = st->step();
  if (!row) return unexpected(row.error());
  if (!*row) return unexpected(Error{"sqlite: no row (sql: " + std::string(sql) + ")"});
  return st->column_int(0);
}

Result<std::vector<std::pair<std::string, std::string>>> Database::query_pairs(
    std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return unexpected(st.error());
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto row = st->step();
    if (!row) return unexpected(row.error());
    if (!*row) break;
    out.emplace_back(std::string(st->column_text(0)), std::string(st->column_text(1)));
  }
  return out;
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int64_t Database::changes() const { return sqlite3_changes64(db_); }
bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

// ---- Statement -------------------------------------------------------------------------------

Statement::Statement(Statement&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)),
      stmt_(std::exchange(o.stmt_, nullptr)),
      sql_(std::move(o.sql_)) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) db_->give_back(stmt_, std::move(sql_));
    db_ = std::exchange(o.db_, nullptr);
    stmt_ = std::exchange(o.stmt_, nullptr);
    sql_ = std::move(o.sql_);
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) db_->give_back(stmt_, std::move(sql_));
}

Result<void> Statement::check_bind(int rc, int index) {
  if (rc == SQLITE_OK) return {};
  return unexpected(make_error(db_->db_, "sqlite bind #" + std::to_string(index), sql_));
}

Result<void> Statement::bind_int(int index, int64_t v) {
  return check_bind(sqlite3_bind_int64(stmt_, index, v), index);
}

Result<void> Statement::bind_double(int index, double v) {
  return check_bind(sqlite3_bind_double(stmt_, index, v), index);
}

Result<void> Statement::bind_text(int index, std::string_view v) {
  return check_bind(
      sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
}

Result<void> Statement::bind_blob(int index, std::string_view bytes) {
  // A null pointer would bind NULL; an empty blob must stay an empty blob.
  static const char kEmpty = 0;
  const char* p = bytes.empty() ? &kEmpty : bytes.data();
  return check_bind(sqlite3_bind_blob64(stmt_, index, p, bytes.size(), SQLITE_TRANSIENT), index);
}

Result<void> Statement::bind_null(int index) {
  return check_bind(sqlite3_bind_null(stmt_, index), index);
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = make_error(db_->db_, "sqlite", sql_);
  // Leaves the statement re-runnable after an error (a constraint violation, a busy database).
  sqlite3_reset(stmt_);
  return unexpected(std::move(e));
}

Result<void> Statement::run() {
  while (true) {
    auto r = step();
    if (!r) return unexpected(r.error());
    if (!*r) break;
  }
  sqlite3_reset(stmt_);
  return {};
}

void Statement::reset() { sqlite3_reset(stmt_); }

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string_view Statement::column_text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);  // after the pointer, as SQLite requires
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
}

std::string_view Statement::column_blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(n)};
}

// ---- Transaction -----------------------------------------------------------------------------

Result<Transaction> Transaction::begin(Database& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return unexpected(r.error());
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) {
    // Nothing to report to: the caller already returned the error that made it give up.
    (void)rollback();
  }
}

Result<void> Transaction::commit() {
  if (db_ == nullptr) return unexpected(Error{"sqlite: transaction already finished"});
  auto r = db_->exec("COMMIT");
  // A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open; the destructor rolls back.
  if (r) db_ = nullptr;
  return r;
}

Result<void> Transaction::rollback() {
  if (db_ == nullptr) return {};
  Database* db = std::exchange(db_, nullptr);
  // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL); don't fail then.
  if (!db->in_transaction()) return {};
  return db->exec("ROLLBACK");
}

}  // namespace verge::store
