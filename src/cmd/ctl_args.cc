#include "cmd/ctl_args.h"

#include <algorithm>
#include <string_view>

namespace verge::cmd::ctl {

namespace {

using Fail = Unexpected<CtlError>;

Fail usage(std::string message) { return unexpected(CtlError{kExitUsage, std::move(message)}); }

bool takes_no_value(std::string_view opt) {
  return opt == "--json" || opt == "--help" || opt == "-h";
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

bool is_count(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void append_json_member(std::string& out, std::string_view key, const Value& v) {
  out += out.size() > 1 ? "," : "";
  out += Value(key).to_json() + ":" + v.to_json();
}

// A command: its words, how many arguments follow, and which options it takes.
struct Spec {
  std::vector<std::string_view> words;
  size_t min_args = 0, max_args = 0;
  std::vector<std::string_view> options;
};

const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      {{"hub"}, 0, 0, {}},
      {{"node", "list"}, 0, 0, {"--selector", "--state"}},
      {{"node", "create"}, 1, 1, {"--site", "--label"}},
      {{"node", "status"}, 1, 1, {}},
      {{"node", "revoke"}, 1, 1, {}},
      {{"node", "delete"}, 1, 1, {}},
      {{"node", "label"}, 1, 1, {"--site", "--label"}},
      {{"node", "token"}, 1, 1, {}},
      {{"node", "devices"}, 1, 2, {}},
      {{"node", "desired"}, 1, 1, {}},
      {{"node", "streams"}, 1, 1, {}},
      {{"desired", "get"}, 0, 0, {"--node", "--selector"}},
      {{"desired", "set"}, 0, 0, {"--node", "--selector", "--file"}},
      {{"desired", "delete"}, 0, 0, {"--node", "--selector"}},
      {{"records"}, 2, 2, {"--from-seq", "--from", "--to", "--limit"}},
      {{"alarms"}, 0, 0, {"--node"}},
      {{"token", "create"}, 1, 1, {"--role"}},
      {{"token", "list"}, 0, 0, {}},
      {{"token", "delete"}, 1, 1, {}},
      {{"audit"}, 0, 0, {"--after", "--limit"}},
  };
  return table;
}

// The spec whose words start the command line (the longest match).
const Spec* find_spec(const std::vector<std::string>& words) {
  const Spec* best = nullptr;
  for (const Spec& s : specs()) {
    if (s.words.size() > words.size()) continue;
    if (!std::equal(s.words.begin(), s.words.end(), words.begin())) continue;
    if (best == nullptr || s.words.size() > best->words.size()) best = &s;
  }
  return best;
}

// "--node ID" or "--selector S" (exactly one): the /desired/... scope path.
Result<std::string, CtlError> desired_scope(const CtlArgs& a, bool required) {
  auto node = a.option("--node");
  auto selector = a.option("--selector");
  if (node && selector) return usage("give --node or --selector, not both");
  if (node) return "/api/v1/desired/nodes/" + url_encode(*node);
  if (selector) return "/api/v1/desired/selectors/" + url_encode(*selector);
  if (required) return usage("give --node ID or --selector k=v[,k2=v2]");
  return std::string("/api/v1/desired");
}

// {"site": ..., "labels": {...}} from --site and --label k=v options.
Result<std::string, CtlError> labels_body(const CtlArgs& a, std::string id) {
  std::string body = "{";
  if (!id.empty()) append_json_member(body, "id", Value(std::move(id)));
  if (auto site = a.option("--site")) append_json_member(body, "site", Value(*site));
  const auto labels = a.all("--label");
  if (!labels.empty()) {
    ValueObject o;
    for (const auto& l : labels) {
      const size_t eq = l.find('=');
      if (eq == std::string::npos || eq == 0)
        return usage("--label: expected k=v, got '" + l + "'");
      o.emplace_back(l.substr(0, eq), l.substr(eq + 1));
    }
    append_json_member(body, "labels", Value(std::move(o)));
  }
  return body + "}";
}

}  // namespace

std::optional<std::string> CtlArgs::option(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : options) {
    if (k == name) out = v;
  }
  return out;
}

std::vector<std::string> CtlArgs::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : options) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<CtlArgs, CtlError> parse_ctl_args(const std::vector<std::string>& args, const char* env_api,
                                         const char* env_token) {
  CtlArgs a;
  if (env_api != nullptr && *env_api != '\0') a.api = env_api;
  if (env_token != nullptr) a.token = env_token;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {  // the rest are arguments, even when they start with '-'
      a.words.insert(a.words.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    // Only "--name" and -h are options: ids may start with '-' (API token ids do).
    if (arg.rfind("--", 0) != 0 && arg != "-h") {
      a.words.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (takes_no_value(name)) {
      if (has_value) return usage(name + " takes no value");
      if (name == "--json") a.json = true;
      if (name == "--help" || name == "-h") a.help = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return usage(name + " needs a value");
      value = args[++i];
    }
    if (name == "--api") {
      a.api = value;
    } else if (name == "--token") {
      a.token = value;
    } else {
      a.options.emplace_back(name, value);
    }
  }
  return a;
}

Result<CtlRequest, CtlError> plan_request(const CtlArgs& a, const DocReader& read_doc) {
  if (a.words.empty()) return usage("a command is required (verge ctl --help)");
  const Spec* spec = find_spec(a.words);
  if (spec == nullptr) return usage("unknown command '" + joined(a.words) + "' (verge ctl --help)");
  const std::string command =
      joined({a.words.begin(), a.words.begin() + static_cast<std::ptrdiff_t>(spec->words.size())});
  const std::vector<std::string> pos(
      a.words.begin() + static_cast<std::ptrdiff_t>(spec->words.size()), a.words.end());
  if (pos.size() < spec->min_args || pos.size() > spec->max_args) {
    return usage(command + ": expected " + std::to_string(spec->min_args) +
                 (spec->max_args != spec->min_args ? "-" + std::to_string(spec->max_args) : "") +
                 " argument(s), got " + std::to_string(pos.size()));
  }
  for (const auto& [k, v] : a.options) {
    if (std::find(spec->options.begin(), spec->options.end(), k) == spec->options.end()) {
      return usage(command + ": unknown option '" + k + "'");
    }
    if ((k == "--limit" || k == "--from-seq" || k == "--after" || k == "--from" || k == "--to") &&
        !is_count(v)) {
      return usage(k + ": expected a non-negative integer, got '" + v + "'");
    }
  }
  const std::string id = pos.empty() ? std::string() : url_encode(pos[0]);
  const std::string node_path = "/api/v1/nodes/" + id;
  CtlRequest r;
  r.method = "GET";
  if (command == "hub") {
    r.path = "/api/v1/hub";
  } else if (command == "node list") {
    r.path = "/api/v1/nodes";
    std::string q;
    if (auto s = a.option("--selector")) q += "selector=" + url_encode(*s);
    if (auto s = a.option("--state")) q += (q.empty() ? "" : "&") + ("state=" + url_encode(*s));
    if (!q.empty()) r.path += "?" + q;
    r.output = Output::NodeList;
  } else if (command == "node create") {
    auto body = labels_body(a, pos[0]);
    if (!body) return unexpected(body.error());
    r = {"POST", "/api/v1/nodes", *body, Output::NodeCreated};
  } else if (command == "node status") {
    r = {"GET", node_path, "", Output::NodeStatus};
  } else if (command == "node revoke") {
    r = {"POST", node_path + "/revoke", "", Output::NodeSummary};
  } else if (command == "node delete") {
    r = {"DELETE", node_path, "", Output::NodeDeleted};
  } else if (command == "node label") {
    if (!a.option("--site") && a.all("--label").empty()) {
      return usage("node label: give --site S and/or --label k=v (the labels replace all)");
    }
    auto body = labels_body(a, "");
    if (!body) return unexpected(body.error());
    r = {"PUT", node_path + "/labels", *body, Output::NodeSummary};
  } else if (command == "node token") {
    r = {"POST", node_path + "/token", "", Output::NodeToken};
  } else if (command == "node devices") {
    if (pos.size() == 2) {
      r = {"GET", node_path + "/devices/" + url_encode(pos[1]), "", Output::Device};
    } else {
      r = {"GET", node_path + "/devices", "", Output::Devices};
    }
  } else if (command == "node desired") {
    r = {"GET", node_path + "/desired", "", Output::DesiredDoc};
  } else if (command == "node streams") {
    r = {"GET", node_path + "/streams", "", Output::Pretty};
  } else if (command == "desired get") {
    auto scope = desired_scope(a, false);
    if (!scope) return unexpected(scope.error());
    const bool all = *scope == "/api/v1/desired";
    r = {"GET", *scope, "", all ? Output::DesiredList : Output::DesiredDoc};
  } else if (command == "desired set") {
    auto scope = desired_scope(a, true);
    if (!scope) return unexpected(scope.error());
    auto file = a.option("--file");
    if (!file) return usage("desired set: --file F is required (JSON or YAML)");
    auto doc = read_doc(*file);
    if (!doc) return unexpected(CtlError{kExitFailed, doc.error().message});
    if (!doc->is_object()) return unexpected(CtlError{kExitFailed, *file + ": expected a mapping"});
    r = {"PUT", *scope, doc->to_json(), Output::DesiredChanged};
  } else if (command == "desired delete") {
    auto scope = desired_scope(a, true);
    if (!scope) return unexpected(scope.error());
    r = {"DELETE", *scope, "", Output::DesiredChanged};
  } else if (command == "records") {
    r.path = node_path + "/streams/" + url_encode(pos[1]) + "/records";
    std::string q;
    for (const auto& [opt, param] : {std::pair{"--from-seq", "from_seq"},
                                     {"--from", "from"},
                                     {"--to", "to"},
                                     {"--limit", "limit"}}) {
      if (auto v = a.option(opt)) q += (q.empty() ? "" : "&") + (std::string(param) + "=" + *v);
    }
    if (!q.empty()) r.path += "?" + q;
    r.output = Output::Records;
  } else if (command == "alarms") {
    r.path = "/api/v1/alarms";
    if (auto n = a.option("--node")) r.path += "?node=" + url_encode(*n);
    r.output = Output::Alarms;
  } else if (command == "token create") {
    auto role = a.option("--role");
    if (!role) return usage("token create: --role viewer|operator|admin is required");
    std::string body = "{";
    append_json_member(body, "name", Value(pos[0]));
    append_json_member(body, "role", Value(*role));
    r = {"POST", "/api/v1/tokens", body + "}", Output::TokenCreated};
  } else if (command == "token list") {
    r = {"GET", "/api/v1/tokens", "", Output::TokenList};
  } else if (command == "token delete") {
    r = {"DELETE", "/api/v1/tokens/" + id, "", Output::TokenDeleted};
  } else if (command == "audit") {
    r.path = "/api/v1/audit";
    std::string q;
    if (auto v = a.option("--after")) q += "after=" + *v;
    if (auto v = a.option("--limit")) q += (q.empty() ? "" : "&") + ("limit=" + *v);
    if (!q.empty()) r.path += "?" + q;
    r.output = Output::Audit;
  }
  return r;
}

std::string ctl_usage() {
  return R"(usage: verge ctl [--api URL] [--token T] [--json] COMMAND

A client of the hub's REST API (docs/hub-api.md).
  --api URL    the hub's API (default $VERGE_API or http://127.0.0.1:8080)
  --token T    an API token (default $VERGE_TOKEN)
  --json       print the API's JSON reply as it is

commands:
  hub                                       hub statistics
  node list [--selector k=v,...] [--state pending|active|revoked|online|offline]
  node create ID [--site S] [--label k=v]...  prints the one-time enrolment token
  node status ID                            state, resources, uplink backlog, desired vs applied
  node label ID [--site S] [--label k=v]... (the labels given replace all labels)
  node revoke ID | node delete ID
  node token ID                             a new enrolment token for a pending node
  node devices ID [DEVICE]                  devices the node reports, with status and twin
  node desired ID                           the node's effective desired state
  node streams ID                           uplink streams stored at the hub
  desired get [--node ID | --selector S]    (neither: every document)
  desired set (--node ID | --selector S) --file F   (F: JSON or YAML)
  desired delete (--node ID | --selector S)
  records NODE STREAM [--from-seq N] [--from MS] [--to MS] [--limit N]
  alarms [--node ID]
  token create NAME --role viewer|operator|admin   prints the token once
  token list | token delete ID
  audit [--after ID] [--limit N]

exit codes: 0 ok, 1 the API refused or could not be reached, 2 usage error
)";
}

}  // namespace verge::cmd::ctl
