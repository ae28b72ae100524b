// The read API of the time-series store over HTTP (docs/api.md):
//   GET /api/v1/series                                  list of series
//   GET /api/v1/series?name=N[&from=MS][&to=MS]         raw points in [from, to)
//   GET /api/v1/series?name=N&step=DUR[&agg=avg]...     buckets of width step
//   GET /api/v1/series/latest?name=N                    the newest point
// Replies are JSON; a bad parameter is a 400 whose "error" names it, an unknown series a 404.
// Thread-safety: as the store (any thread); the handler keeps a reference to `db`, which must
// outlive it. It runs on a loop thread, so replies are bounded by `max_points`.
#pragma once

#include <cstddef>
#include <string_view>

#include "net/http.h"
#include "net/http_server.h"
#include "store/tsdb.h"

namespace verge::api {

inline constexpr std::string_view kSeriesPath = "/api/v1/series";

struct SeriesApiOptions {
  size_t max_points = 100'000;  // raw points or buckets in one reply
};

// True for the paths this API serves (kSeriesPath and below).
bool is_series_path(std::string_view path);

// Answers one request whose path is_series_path().
net::HttpReply handle_series_request(const store::Tsdb& db, const net::HttpRequest& req,
                                     const SeriesApiOptions& options = {});

}  // namespace verge::api
