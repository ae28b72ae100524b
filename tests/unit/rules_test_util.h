// Fakes and helpers for the tests of the rule actions, alarms and the HTTP client: a bus that
// records publishes, a device writer answering on demand, a temp directory, and a tiny blocking
// HTTP server on its own thread that answers each request as a script says.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "rules/bus.h"
#include "rules/device_writer.h"

namespace verge::rules::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/verge_rules_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Published {
  std::string topic, payload;
  uint8_t qos = 0;
  bool retain = false;
};

class FakeBus : public Bus {
 public:
  uint64_t subscribe(std::string_view, Handler) override { return 1; }
  void unsubscribe(uint64_t) override {}
  void publish(std::string_view topic, std::string_view payload, uint8_t qos,
               bool retain) override {
    std::lock_guard lock(mu);
    messages.push_back({std::string(topic), std::string(payload), qos, retain});
  }
  std::vector<Published> take() {
    std::lock_guard lock(mu);
    return std::exchange(messages, {});
  }

  std::mutex mu;
  std::vector<Published> messages;
};

// Keeps each write with its callback; the test answers them.
class FakeDeviceWriter : public DeviceWriter {
 public:
  void write(DeviceWrite cmd, Done done) override {
    writes.push_back(std::move(cmd));
    pending.push_back(std::move(done));
  }
  std::vector<DeviceWrite> writes;
  std::vector<Done> pending;
};

// Runs `loop` on this thread until `done()` holds (checked every millisecond) or 20 s pass (a
// failure guard, not a synchronisation). A loop runs once: use a fresh one per phase.
inline bool run_until(net::EventLoop& loop, const std::function<bool()>& done) {
  bool ok = false;
  const auto start = std::chrono::steady_clock::now();
  loop.every(1, [&] {
    if (done()) {
      ok = true;
      loop.stop();
    } else if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) {
      loop.stop();
    }
  });
  loop.run();
  return ok;
}

// A blocking HTTP/1.1 server on 127.0.0.1:<ephemeral>, one connection at a time, one request
// per connection. `script(n, request)` (n counts from 0) says how to answer request n.
class TestHttpServer {
 public:
  struct Reply {
    int status = 200;
    bool never = false;  // read the request, never answer (held open until the server ends)
    std::string raw;     // when set: these bytes verbatim, then close
  };
  using Script = std::function<Reply(int n, const std::string& request)>;
  static Reply status(int code) {
    Reply r;
    r.status = code;
    return r;
  }
  static Reply silent() {
    Reply r;
    r.never = true;
    return r;
  }
  static Reply bytes(std::string raw) {
    Reply r;
    r.raw = std::move(raw);
    return r;
  }

  explicit TestHttpServer(Script script) : script_(std::move(script)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestHttpServer() {
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(fd_);
    for (int c : held_) close(c);
  }

  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  int requests() const { return requests_.load(); }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void serve() {
    for (int n = 0;; ++n) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (stopping_) {
        close(c);
        return;
      }
      std::string req = read_request(c);
      {
        std::lock_guard lock(mu_);
        received_.push_back(req);
      }
      const Reply reply = script_(n, req);
      requests_.fetch_add(1);
      if (reply.never) {
        held_.push_back(c);
        continue;
      }
      std::string out = reply.raw;
      if (out.empty()) {
        out = "HTTP/1.1 " + std::to_string(reply.status) +
              " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      }
      [[maybe_unused]] auto w = send(c, out.data(), out.size(), MSG_NOSIGNAL);
      close(c);
    }
  }

  static std::string read_request(int c) {
    std::string in;
    char buf[4096];
    size_t need = std::string::npos;
    while (need == std::string::npos || in.size() < need) {
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      const size_t end = in.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        const size_t cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end)
          length = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
        need = end + 4 + length;
      }
    }
    return in;
  }

  Script script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> received_;
  std::vector<int> held_;  // server thread only until join
};

}  // namespace verge::rules::testing
