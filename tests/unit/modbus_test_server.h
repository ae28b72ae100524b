// A small Modbus TCP server for the adapter's tests, on a thread of its own: a datastore of the
// four tables, a log of the requests it saw, and knobs for misbehaving (answer late, not at
// all, close the connection, refuse addresses past a limit).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "devices/adapters/modbus/frame.h"
#include "devices/adapters/modbus/pdu.h"

namespace verge::devices::modbus::testing {

class TestModbusServer {
 public:
  struct Seen {
    uint8_t function;
    uint16_t address;
    uint16_t count;
    std::vector<uint16_t> registers;
    std::vector<uint8_t> bits;
  };

  TestModbusServer() : holding(65536), input(65536), coils(65536), discrete(65536) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TestModbusServer() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_) close(fd);
    close(listen_fd_);
  }

  uint16_t port() const { return port_; }

  // Datastore and knobs; lock `mu` to touch the tables while the adapter runs.
  std::mutex mu;
  std::vector<uint16_t> holding, input;
  std::vector<uint8_t> coils, discrete;
  uint32_t limit = 65536;                 // addresses at or past it answer exception 2
  std::atomic<int> delay_ms{0};           // before each answer
  std::atomic<bool> silent{false};        // read requests, never answer
  std::atomic<int> close_next{0};         // close the connection instead of answering, N times
  std::atomic<int> connections{0};        // accepted so far
  std::atomic<bool> drop_clients{false};  // close every connection now (then back to false)
  std::atomic<int> answer_unit{-1};       // >= 0: answers carry this unit id, not the asked one
  std::atomic<int> garbage{0};            // send this many junk bytes to every client now

  std::vector<Seen> seen() {
    std::lock_guard lock(mu);
    return seen_;
  }
  size_t count(uint8_t function) {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const Seen& s : seen_) n += s.function == function;
    return n;
  }
  void clear_seen() {
    std::lock_guard lock(mu);
    seen_.clear();
  }

 private:
  void run() {
    std::vector<std::string> inputs;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
      if (const int n = garbage.exchange(0); n > 0) {
        const std::string junk(static_cast<size_t>(n), '\x5a');
        for (int fd : clients_) {
          if (fd >= 0) (void)send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
        }
      }
      if (drop_clients.exchange(false)) {
        for (int& fd : clients_) {
          close(fd);
          fd = -1;
        }
      }
      if (poll(fds.data(), fds.size(), 10) <= 0) {
        prune(inputs);
        continue;
      }
      if ((fds[0].revents & POLLIN) != 0) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          clients_.push_back(fd);
          inputs.emplace_back();
          ++connections;
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0 || clients_[i - 1] < 0) continue;
        char buf[4096];
        const ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
        bool drop = n <= 0;
        if (!drop) {
          inputs[i - 1].append(buf, static_cast<size_t>(n));
          drop = !serve(fds[i].fd, inputs[i - 1]);
        }
        if (drop) {
          close(fds[i].fd);
          clients_[i - 1] = -1;
        }
      }
      prune(inputs);
    }
  }

  void prune(std::vector<std::string>& inputs) {
    for (size_t i = clients_.size(); i-- > 0;) {
      if (clients_[i] < 0) {
        clients_.erase(clients_.begin() + static_cast<long>(i));
        inputs.erase(inputs.begin() + static_cast<long>(i));
      }
    }
  }

  // False: close the connection.
  bool serve(int fd, std::string& in) {
    for (;;) {
      auto frame = parse_tcp_frame(in);
      if (!frame) return false;
      if (!frame->has_value()) return true;
      const TcpFrame f = **frame;
      auto req = decode_request(f.pdu);
      std::string pdu;
      if (!req) {
        encode_exception(static_cast<uint8_t>(f.pdu.empty() ? 0 : f.pdu[0]), 3, pdu);
      } else {
        {
          std::lock_guard lock(mu);
          seen_.push_back(Seen{req->function, req->address, req->count, req->registers, req->bits});
        }
        if (close_next > 0) {
          --close_next;
          return false;
        }
        if (silent) {
          in.erase(0, f.size);
          continue;
        }
        encode_response(*req, answer(*req), pdu);
      }
      in.erase(0, f.size);
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      std::string out;
      const int unit = answer_unit.load();
      frame_tcp(f.transaction, unit >= 0 ? static_cast<uint8_t>(unit) : f.unit, pdu, out);
      if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        return false;
      }
    }
  }

  Response answer(const Request& req) {
    std::lock_guard lock(mu);
    Response r;
    r.function = req.function;
    if (static_cast<uint32_t>(req.address) + req.count > limit) {
      r.exception = 2;
      return r;
    }
    switch (req.function) {
      case kReadCoils:
      case kReadDiscreteInputs: {
        const auto& t = req.function == kReadCoils ? coils : discrete;
        r.bits.assign(t.begin() + req.address, t.begin() + req.address + req.count);
        break;
      }
      case kReadHoldingRegisters:
      case kReadInputRegisters: {
        const auto& t = req.function == kReadHoldingRegisters ? holding : input;
        r.registers.assign(t.begin() + req.address, t.begin() + req.address + req.count);
        break;
      }
      case kWriteSingleRegister:
      case kWriteMultipleRegisters:
        for (size_t i = 0; i < req.registers.size(); ++i)
          holding[req.address + i] = req.registers[i];
        break;
      case kWriteSingleCoil:
      case kWriteMultipleCoils:
        for (size_t i = 0; i < req.bits.size(); ++i) coils[req.address + i] = req.bits[i];
        break;
      default:
        r.exception = 1;
    }
    return r;
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> clients_;
  std::vector<Seen> seen_;  // guarded by mu
  std::thread thread_;
};

}  // namespace verge::devices::modbus::testing
