#include "devices/adapters/coap/coap_server.h"

#include <coap3/coap.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "devices/adapters/http/ingest_counters.h"
#include "devices/adapters/http/ingest_json.h"

namespace verge::devices {
namespace {

// Constrained devices send small reports; anything larger is not one of them.
constexpr size_t kMaxBody = 64 * 1024;
// How long coap_io_process may wait: also how long the destructor may take to stop the thread.
constexpr uint32_t kWaitMs = 100;
// The diagnostic payload of a refusal stays short enough for one datagram.
constexpr size_t kMaxDiagnostic = 512;
constexpr unsigned kMaxIdleSessions = 4096;
// Block-wise uploads in progress, each at most kMaxBody: 256 x 64 KiB = 16 MiB at most. A peer
// that stops sending has its partial body dropped after kPartialTimeoutMs.
constexpr size_t kMaxPartials = 256;
constexpr int64_t kPartialTimeoutMs = 60'000;

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void log_from_libcoap(coap_log_t level, const char* message) {
  std::string_view m(message);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.remove_suffix(1);
  if (level <= LOG_ERR) {
    log_error("coap", {{"detail", m}});
  } else if (level <= LOG_WARNING) {
    log_warn("coap", {{"detail", m}});
  }
}

// libcoap's startup is global and its cleanup would pull the rug from any other context, so it
// starts once per process and is never cleaned up.
void coap_startup_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    coap_startup();
    coap_set_log_handler(log_from_libcoap);
    // Errors only: libcoap warns about every malformed datagram, which a peer could use to
    // flood the log.
    coap_set_log_level(LOG_ERR);
  });
}

Result<coap_address_t> resolve(const ListenAddress& a) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(a.port);
  const int rc = getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return unexpected(Error{"coap: cannot resolve '" + a.host + "': " + gai_strerror(rc)});
  }
  coap_address_t out;
  coap_address_init(&out);
  out.size = res->ai_addrlen;
  std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return out;
}

// The bound port of an endpoint: libcoap 4.3.1 exposes it only in the endpoint's description
// ("127.0.0.1:5683 UDP", "[::1]:5683 UDP"), written to a static buffer (hence the lock).
uint16_t bound_port(const coap_endpoint_t* ep) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::string_view s(coap_endpoint_str(ep));
  s = s.substr(0, s.find(' '));
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return 0;
  unsigned port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return 0;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  return port > 65535 ? 0 : static_cast<uint16_t>(port);
}

// libcoap binds with SO_REUSEADDR, which lets a second UDP socket share a port that is taken;
// a plain bind first makes "address in use" an error as it is for the other listeners.
Result<void> probe_bind(const coap_address_t& a) {
  const int fd = socket(a.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unexpected(Error{std::string("coap: socket: ") + std::strerror(errno)});
  const int rc = bind(fd, &a.addr.sa, a.size);
  const int err = errno;
  close(fd);
  if (rc != 0) return unexpected(Error{std::string("coap: bind: ") + std::strerror(err)});
  return {};
}

struct Reply {
  coap_pdu_code_t code;
  std::string diagnostic;
};

// The reply to an ingest whose decoding and sink results are known.
Reply ingest_reply(const DecodedReadings& decoded, const IngestResult& result) {
  const size_t rejected = decoded.rejected + result.rejected;
  if (rejected == 0) return {COAP_RESPONSE_CODE_CHANGED, ""};
  // Everything refused because the device in the URI is unknown: that resource does not exist.
  // The manager says so for a device's first reading and refers to it for the others.
  bool all_unknown = decoded.rejected == 0 && result.accepted == 0 && !result.errors.empty() &&
                     result.errors[0].find("unknown device") != std::string::npos;
  for (const auto& e : result.errors) {
    all_unknown = all_unknown && (e.find("unknown device") != std::string::npos ||
                                  e.find("see the first error") != std::string::npos);
  }
  Reply r{all_unknown ? COAP_RESPONSE_CODE_NOT_FOUND : COAP_RESPONSE_CODE_BAD_REQUEST, ""};
  r.diagnostic =
      std::to_string(rejected) + " rejected, " + std::to_string(result.accepted) + " accepted";
  auto add = [&](const std::string& e) {
    if (r.diagnostic.size() + e.size() + 2 <= kMaxDiagnostic) r.diagnostic += "; " + e;
  };
  for (const auto& e : decoded.errors) add(e);
  for (const auto& e : result.errors) add(e);
  return r;
}

class CoapServerImpl final : public CoapServer {
 public:
  CoapServerImpl(IngestSink& sink) : sink_(sink) {}

  ~CoapServerImpl() override {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (ctx_ != nullptr) coap_free_context(ctx_);  // frees the endpoint and the resource too
  }

  Result<void> listen(const ListenAddress& addr) {
    auto bind_addr = resolve(addr);
    if (!bind_addr) return unexpected(bind_addr.error());
    if (addr.port != 0) {
      if (auto ok = probe_bind(*bind_addr); !ok) return unexpected(ok.error());
    }
    ctx_ = coap_new_context(nullptr);
    if (ctx_ == nullptr) return unexpected(Error{"coap: cannot create a context"});
    coap_set_app_data(ctx_, this);
    // libcoap handles the Block1 exchange but hands the handler each block
    // (no COAP_BLOCK_SINGLE_BODY): libcoap 4.3.1 has no body limit of its own, so an oversized
    // upload is refused here at its first block past kMaxBody, not after it was buffered whole.
    coap_context_set_block_mode(ctx_, COAP_BLOCK_USE_LIBCOAP);
    // Each peer address is a session; bound them so a spray of sources cannot grow memory.
    coap_context_set_max_idle_sessions(ctx_, kMaxIdleSessions);
    coap_endpoint_t* ep = coap_new_endpoint(ctx_, &*bind_addr, COAP_PROTO_UDP);
    if (ep == nullptr) {
      return unexpected(Error{"coap: cannot listen on " + to_string(addr) + " (UDP)"});
    }
    address_ = addr;
    address_.port = bound_port(ep);
    if (address_.port == 0) return unexpected(Error{"coap: cannot read the bound port"});
    coap_resource_t* r = coap_resource_unknown_init2(&CoapServerImpl::on_request, 0);
    coap_register_request_handler(r, COAP_REQUEST_POST, &CoapServerImpl::on_request);
    coap_add_resource(ctx_, r);
    thread_ = std::thread([this] {
      while (!stop_.load(std::memory_order_relaxed)) coap_io_process(ctx_, kWaitMs);
    });
    return {};
  }

  const ListenAddress& address() const override { return address_; }

 private:
  static void on_request(coap_resource_t*, coap_session_t* session, const coap_pdu_t* request,
                         const coap_string_t*, coap_pdu_t* response) {
    auto* self = static_cast<CoapServerImpl*>(coap_get_app_data(coap_session_get_context(session)));
    const Reply reply = self->handle(session, request);
    coap_pdu_set_code(response, reply.code);
    if (!reply.diagnostic.empty()) {
      coap_add_data(response, reply.diagnostic.size(),
                    reinterpret_cast<const uint8_t*>(reply.diagnostic.data()));
    }
  }

  Reply handle(const coap_session_t* session, const coap_pdu_t* request) {
    IngestCounters& counters = coap_ingest_counters();
    auto refuse = [&](coap_pdu_code_t code, std::string why) {
      counters.refused.inc();
      return Reply{code, std::move(why)};
    };
    std::string device;
    if (coap_string_t* path = coap_get_uri_path(request)) {
      std::string_view p(reinterpret_cast<const char*>(path->s), path->length);
      if (!p.empty() && p.front() == '/') p.remove_prefix(1);
      if (p.substr(0, 7) == "ingest/" && p.size() > 7 && p.find('/', 7) == std::string_view::npos) {
        device = std::string(p.substr(7));
      }
      coap_delete_string(path);
    }
    if (device.empty())
      return refuse(COAP_RESPONSE_CODE_NOT_FOUND, "POST or PUT to ingest/<device>");
    coap_opt_iterator_t it;
    if (coap_opt_t* cf = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it)) {
      if (coap_decode_var_bytes(coap_opt_value(cf), coap_opt_length(cf)) !=
          COAP_MEDIATYPE_APPLICATION_JSON) {
        return refuse(COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT,
                      "expected application/json (content-format 50)");
      }
    }
    size_t len = 0, offset = 0, total = 0;
    const uint8_t* data = nullptr;
    const bool has_data = coap_get_data_large(request, &len, &data, &offset, &total) != 0;
    const std::string_view chunk(reinterpret_cast<const char*>(data), has_data ? len : 0);
    coap_block_b_t block{};
    const bool blockwise = coap_get_block_b(session, request, COAP_OPTION_BLOCK1, &block) != 0 &&
                           (block.num > 0 || block.m);
    const std::string too_large = "body over the limit of " + std::to_string(kMaxBody) + " bytes";
    std::string body;  // a reassembled block-wise upload
    std::string_view whole = chunk;
    if (blockwise) {
      size_t declared = 0;  // Size1: the client may announce the whole size with the first block
      if (coap_opt_t* s1 = coap_check_option(request, COAP_OPTION_SIZE1, &it)) {
        declared = coap_decode_var_bytes(coap_opt_value(s1), coap_opt_length(s1));
      }
      if (offset + chunk.size() > kMaxBody || declared > kMaxBody) {
        partials_.erase(session);
        return refuse(COAP_RESPONSE_CODE_REQUEST_TOO_LARGE, too_large);
      }
      const int64_t now = monotonic_ms();
      std::erase_if(partials_,
                    [now](const auto& p) { return now - p.second.last_ms > kPartialTimeoutMs; });
      auto p = partials_.find(session);
      if (offset == 0) {
        if (p == partials_.end()) {
          if (partials_.size() >= kMaxPartials) {
            return refuse(COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE,
                          "too many block-wise uploads in progress; retry later");
          }
          p = partials_.emplace(session, Partial{}).first;
        }
        p->second.body.clear();
      } else if (p == partials_.end() || p->second.body.size() != offset) {
        if (p != partials_.end()) partials_.erase(p);
        return refuse(COAP_RESPONSE_CODE_INCOMPLETE,
                      "block at offset " + std::to_string(offset) + " without the ones before it");
      }
      p->second.body.append(chunk);
      p->second.last_ms = now;
      if (block.m) return Reply{COAP_RESPONSE_CODE_CONTINUE, ""};
      body = std::move(p->second.body);
      partials_.erase(p);
      whole = body;
    } else if (total > kMaxBody || chunk.size() != total) {
      return refuse(COAP_RESPONSE_CODE_REQUEST_TOO_LARGE, too_large);
    }
    if (whole.empty()) {
      return refuse(COAP_RESPONSE_CODE_BAD_REQUEST, "empty body (expected a JSON sample)");
    }
    counters.requests.inc();
    IngestLimits limits;
    limits.max_body_bytes = kMaxBody;
    auto decoded = decode_ingest_json(whole, device, limits);
    if (!decoded) return refuse(COAP_RESPONSE_CODE_BAD_REQUEST, decoded.error().message);
    IngestResult result;
    if (!decoded->readings.empty()) result = sink_.ingest("coap", decoded->readings);
    counters.readings.inc(result.accepted);
    counters.rejected.inc(decoded->rejected + result.rejected);
    return ingest_reply(*decoded, result);
  }

  struct Partial {
    std::string body;
    int64_t last_ms = 0;  // monotonic
  };

  IngestSink& sink_;
  coap_context_t* ctx_ = nullptr;
  // Block-wise uploads in progress by session (only the key: never dereferenced, so a freed
  // session's entry is harmless until it times out). Used on the libcoap thread only.
  std::unordered_map<const coap_session_t*, Partial> partials_;
  ListenAddress address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<CoapServer>> CoapServer::start(const ListenAddress& addr, IngestSink& sink) {
  coap_startup_once();
  auto server = std::make_unique<CoapServerImpl>(sink);
  if (auto ok = server->listen(addr); !ok) return unexpected(ok.error());
  return std::unique_ptr<CoapServer>(std::move(server));
}

}  // namespace verge::devices
