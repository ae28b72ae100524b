// `verge ctl` command lines: global options, the command's words and options, and the REST call
// each command makes. Pure (no I/O), so it is unit-tested (tests/unit/ctl_test.cc).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/value.h"

namespace verge::cmd::ctl {

// Exit codes: 0 ok, 1 the API or the network failed, 2 the command line is wrong.
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct CtlError {
  int exit_code = kExitUsage;
  std::string message;
};

struct CtlArgs {
  std::string api = "http://127.0.0.1:8080";
  std::string token;
  bool json = false;
  bool help = false;
  std::vector<std::string> words;                            // "node", "status", "pump-1"
  std::vector<std::pair<std::string, std::string>> options;  // "--label", "k=v" (repeatable)

  std::optional<std::string> option(std::string_view name) const;  // the last one given
  std::vector<std::string> all(std::string_view name) const;
};

// Global options (--api, --token, --json) may appear anywhere; $VERGE_API and $VERGE_TOKEN are
// the defaults (passed in, so tests control them). "--opt=value" and "--opt value" both work.
Result<CtlArgs, CtlError> parse_ctl_args(const std::vector<std::string>& args, const char* env_api,
                                         const char* env_token);

// What a command renders its reply as (ctl_format.h).
enum class Output {
  NodeList,
  NodeCreated,
  NodeStatus,
  NodeSummary,
  NodeDeleted,
  NodeToken,
  Devices,
  Device,
  DesiredDoc,
  DesiredList,
  DesiredChanged,
  Records,
  Alarms,
  TokenCreated,
  TokenList,
  TokenDeleted,
  Audit,
  Pretty  // Pretty: the reply as indented JSON
};

struct CtlRequest {
  std::string method, path;  // path with its query, percent-encoded
  std::string body;          // JSON, or empty
  Output output = Output::Pretty;
};

// Reads a file (JSON or YAML) into a Value; injected so the planner stays pure.
using DocReader = std::function<Result<Value>(const std::string& path)>;

// The REST call for a parsed command line; usage errors name what is wrong.
Result<CtlRequest, CtlError> plan_request(const CtlArgs& args, const DocReader& read_doc);

// Percent-encoding of a path segment or query value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view s);

// The help text.
std::string ctl_usage();

}  // namespace verge::cmd::ctl
