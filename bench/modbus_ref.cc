// verge_modbus_ref: the same-run yardstick of the device benchmark (bench/run-devices). Polls the
// simulator's devices with libmodbus, the most common open-source Modbus library, in the plainest
// way: T threads, each owning a share of the devices, reading every device's registers in
// 125-register (and 2,000-coil) requests once per poll period and decoding them to numbers. No
// bus, no JSON, no history: the cost floor of fetching the same registers. It prints one line
//   RESULT points=<n> seconds=<s> cpu_seconds=<c> requests=<r> errors=<e>
// where points = complete device polls x --points (the device's points, however many registers
// each spans).
//
// Usage: verge_modbus_ref --ports-file F --points M --holding H --input I --coils C
//                         [--poll-ms 1000] [--seconds 20] [--threads 2]
#include <modbus.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string ports_file;
  int points = 0;
  int holding = 0, input = 0, coils = 0;
  int poll_ms = 1000, seconds = 20, threads = 2;
};

std::vector<int> read_ports(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<int> ports;
  const std::string text = ss.str();
  for (size_t i = text.find('['); i != std::string::npos && i < text.size(); ++i) {
    if (text[i] >= '0' && text[i] <= '9') {
      ports.push_back(std::atoi(text.c_str() + i));
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    }
  }
  return ports;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::atomic<uint64_t> g_points{0}, g_requests{0}, g_errors{0};
std::atomic<double> g_sink{0};  // keeps the decoding from being optimised away

// Reads `count` items of one table in chunks of `chunk`; false if a request failed.
bool read_table(modbus_t* ctx, int count, int chunk, bool bits, std::vector<uint16_t>& regs,
                std::vector<uint8_t>& bitbuf, double& acc) {
  bool ok = true;
  for (int addr = 0; addr < count; addr += chunk) {
    const int n = std::min(chunk, count - addr);
    const int got = bits ? modbus_read_bits(ctx, addr, n, bitbuf.data())
                         : modbus_read_registers(ctx, addr, n, regs.data());
    g_requests.fetch_add(1, std::memory_order_relaxed);
    if (got != n) {
      g_errors.fetch_add(1, std::memory_order_relaxed);
      ok = false;
      continue;
    }
    for (int i = 0; i < n; ++i) acc += bits ? bitbuf[i] : static_cast<double>(regs[i]);
  }
  return ok;
}

void poll_devices(const Options& o, std::vector<int> ports,
                  std::chrono::steady_clock::time_point end) {
  std::vector<modbus_t*> ctxs;
  for (int port : ports) {
    modbus_t* ctx = modbus_new_tcp("127.0.0.1", port);
    if (ctx == nullptr || modbus_connect(ctx) != 0) {
      std::fprintf(stderr, "connect %d: %s\n", port, modbus_strerror(errno));
      std::exit(1);
    }
    modbus_set_slave(ctx, 1);
    ctxs.push_back(ctx);
  }
  std::vector<uint16_t> regs(125);
  std::vector<uint8_t> bits(2000);
  double acc = 0;
  auto next = std::chrono::steady_clock::now();
  while (next < end) {
    for (modbus_t* ctx : ctxs) {
      bool ok = read_table(ctx, o.holding, 125, false, regs, bits, acc);
      for (int addr = 0; addr < o.input; addr += 125) {
        const int n = std::min(125, o.input - addr);
        g_requests.fetch_add(1, std::memory_order_relaxed);
        if (modbus_read_input_registers(ctx, addr, n, regs.data()) != n) {
          g_errors.fetch_add(1, std::memory_order_relaxed);
          ok = false;
          continue;
        }
        for (int i = 0; i < n; ++i) acc += regs[i];
      }
      ok = read_table(ctx, o.coils, 2000, true, regs, bits, acc) && ok;
      if (ok) g_points.fetch_add(static_cast<uint64_t>(o.points), std::memory_order_relaxed);
    }
    next += std::chrono::milliseconds(o.poll_ms);
    std::this_thread::sleep_until(next);  // the poll period, as a real poller keeps it
  }
  g_sink.store(acc);
  for (modbus_t* ctx : ctxs) {
    modbus_close(ctx);
    modbus_free(ctx);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    int* number = k == "--points"    ? &o.points
                  : k == "--holding" ? &o.holding
                  : k == "--input"   ? &o.input
                  : k == "--coils"   ? &o.coils
                  : k == "--poll-ms" ? &o.poll_ms
                  : k == "--seconds" ? &o.seconds
                  : k == "--threads" ? &o.threads
                                     : nullptr;
    if (number != nullptr) {
      *number = std::atoi(v);
    } else if (k == "--ports-file") {
      o.ports_file = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const std::vector<int> ports = read_ports(o.ports_file);
  if (ports.empty() || o.threads < 1) {
    std::fprintf(stderr, "no ports in %s\n", o.ports_file.c_str());
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(o.seconds);
  const double cpu0 = cpu_seconds();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    std::vector<int> mine;
    for (size_t i = static_cast<size_t>(t); i < ports.size(); i += static_cast<size_t>(o.threads)) {
      mine.push_back(ports[i]);
    }
    threads.emplace_back(poll_devices, std::cref(o), std::move(mine), end);
  }
  for (auto& th : threads) th.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("RESULT points=%llu seconds=%.3f cpu_seconds=%.3f requests=%llu errors=%llu\n",
              static_cast<unsigned long long>(g_points.load()), secs, cpu_seconds() - cpu0,
              static_cast<unsigned long long>(g_requests.load()),
              static_cast<unsigned long long>(g_errors.load()));
  return 0;
}
