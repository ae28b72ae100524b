// `verge ctl`: a command-line client of the hub's REST API (docs/hub-api.md).
#include "cmd/ctl.h"

#include <cstdio>
#include <cstdlib>

#include "cmd/ctl_args.h"
#include "cmd/ctl_doc.h"
#include "cmd/ctl_format.h"
#include "cmd/ctl_http.h"
#include "core/clock.h"

namespace verge::cmd {

namespace {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "verge ctl: %s\n", message.c_str());
  return code;
}

// The API's {"error": "..."} text, or the body itself when it is not one.
std::string error_text(const std::string& body) {
  auto v = parse_json(body);
  if (v) {
    if (const Value* e = v->find("error"); e != nullptr && e->is_string()) return e->as_string();
  }
  std::string out = body;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "(no details)" : out;
}

}  // namespace

int run_ctl(const std::vector<std::string>& args) {
  auto parsed = ctl::parse_ctl_args(args, std::getenv("VERGE_API"), std::getenv("VERGE_TOKEN"));
  if (!parsed) return fail(parsed.error().exit_code, parsed.error().message);
  const ctl::CtlArgs& a = *parsed;
  if (a.help) {
    std::fputs(ctl::ctl_usage().c_str(), stdout);
    return 0;
  }
  auto plan = ctl::plan_request(a, ctl::read_doc_file);
  if (!plan) return fail(plan.error().exit_code, plan.error().message);
  if (a.token.empty())
    return fail(ctl::kExitUsage, "an API token is required (--token or $VERGE_TOKEN)");

  auto reply = ctl::http_call(a.api, plan->method, plan->path, a.token, plan->body);
  if (!reply) return fail(ctl::kExitFailed, a.api + ": " + reply.error().message);
  if (reply->status >= 400) {
    return fail(ctl::kExitFailed, std::to_string(reply->status) + ": " + error_text(reply->body));
  }
  if (a.json) {
    std::fputs(reply->body.c_str(), stdout);
    return 0;
  }
  Value body;
  if (!reply->body.empty()) {
    auto v = parse_json(reply->body);
    if (!v)
      return fail(ctl::kExitFailed, "the API answered with invalid JSON: " + v.error().message);
    body = std::move(*v);
  }
  std::fputs(ctl::render_reply(plan->output, body, wall_ms()).c_str(), stdout);
  return 0;
}

}  // namespace verge::cmd
