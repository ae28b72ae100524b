// A blocking HTTP call for `verge ctl`: runs one EventLoop on the calling thread for the request.
#pragma once

#include <string>

#include "core/result.h"
#include "net/http_client.h"

namespace verge::cmd::ctl {

// `api` is the base URL ("http://host:port[/prefix]"); `path` starts with '/'.
Result<net::HttpClientResponse> http_call(const std::string& api, const std::string& method,
                                          const std::string& path, const std::string& token,
                                          const std::string& body, uint64_t timeout_ms = 30'000);

}  // namespace verge::cmd::ctl
