#include "store/postgres.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>

namespace verge::store {

namespace {

// The server's message without a password that may be in the URL.
std::string pq_message(PGconn* conn) {
  std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

std::string redact(const std::string& url) {
  static const std::regex password(R"(://([^:/@]+):[^@]*@)");
  return std::regex_replace(url, password, "://$1:***@");
}

Result<PgRows> collect(PGconn* conn, PGresult* res, std::string_view sql) {
  const ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string msg = PQresultErrorMessage(res);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQclear(res);
    if (msg.empty()) msg = pq_message(conn);
    return unexpected(Error{"postgres: " + msg + " [" + (state ? state : "?") +
                            "] in: " + std::string(sql.substr(0, 120))});
  }
  PgRows out;
  const int cols = PQnfields(res);
  for (int c = 0; c < cols; ++c) out.columns.emplace_back(PQfname(res, c));
  const int n = PQntuples(res);
  out.rows.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    auto& row = out.rows.emplace_back();
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
      }
    }
  }
  const char* affected = PQcmdTuples(res);
  if (affected && *affected) out.affected = std::strtoull(affected, nullptr, 10);
  PQclear(res);
  return out;
}

}  // namespace

bool is_postgres_url(std::string_view storage) {
  return storage.starts_with("postgres://") || storage.starts_with("postgresql://");
}

Result<std::unique_ptr<Postgres>> Postgres::connect(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = pq_message(conn);
    if (conn) PQfinish(conn);
    return unexpected(Error{"postgres: cannot connect to " + redact(url) + ": " + msg});
  }
  // Notices (e.g. "relation exists, skipping") are not errors; keep them out of stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Postgres>(new Postgres(conn, url));
}

Postgres::~Postgres() {
  if (conn_) PQfinish(conn_);
}

bool Postgres::ensure_connected() {
  if (PQstatus(conn_) == CONNECTION_OK) return true;
  PQreset(conn_);
  return PQstatus(conn_) == CONNECTION_OK;
}

Result<void> Postgres::exec(std::string_view sql) {
  const std::string text(sql);
  auto rows = collect(conn_, PQexec(conn_, text.c_str()), sql);
  if (!rows) return unexpected(rows.error());
  return {};
}

Result<PgRows> Postgres::query(std::string_view sql,
                               const std::vector<std::optional<std::string>>& params) {
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  return collect(conn_, res, sql);
}

Result<size_t> Postgres::exec_params(std::string_view sql,
                                     const std::vector<std::optional<std::string>>& params) {
  auto rows = query(sql, params);
  if (!rows) return unexpected(rows.error());
  return rows->affected;
}

}  // namespace verge::store
