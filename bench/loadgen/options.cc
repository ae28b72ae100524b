#include "options.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace loadgen {

namespace {

[[noreturn]] void usage(int code) {
  std::fprintf(
      code == 0 ? stdout : stderr,
      "usage: verge_loadgen [--mode throughput|latency|idle] [--topology fanin|fanout|p2p]\n"
      "  [--host H] [--port P] [--version 4|5] [--pubs N] [--subs N] [--qos 0|1]\n"
      "  [--size BYTES] [--duration S] [--warmup S] [--rate MSG_PER_S] [--pub-window N]\n"
      "  [--window-bytes N] [--batch N] [--conns N] [--broker-pid PID] [--settle S]\n"
      "  [--persistent 0|1]\n"
      "Prints one line: RESULT key=value ...\n");
  std::exit(code);
}

unsigned long to_uint(const char* name, const char* v) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(v, &end, 10);
  if (end == v || *end != '\0') {
    std::fprintf(stderr, "verge_loadgen: %s: not an integer: %s\n", name, v);
    usage(2);
  }
  return n;
}

double to_double(const char* name, const char* v) {
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || d < 0) {
    std::fprintf(stderr, "verge_loadgen: %s: not a number >= 0: %s\n", name, v);
    usage(2);
  }
  return d;
}

}  // namespace

const char* topology_name(Topology t) {
  switch (t) {
    case Topology::FanIn:
      return "fanin";
    case Topology::FanOut:
      return "fanout";
    case Topology::P2P:
      return "p2p";
  }
  return "?";
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view k = argv[i];
    if (k == "-h" || k == "--help") usage(0);
    if (i + 1 >= argc) usage(2);
    const char* v = argv[++i];
    const std::string_view sv = v;
    if (k == "--mode") {
      if (sv == "throughput")
        o.mode = Mode::Throughput;
      else if (sv == "latency")
        o.mode = Mode::Latency;
      else if (sv == "idle")
        o.mode = Mode::Idle;
      else
        usage(2);
    } else if (k == "--topology") {
      if (sv == "fanin")
        o.topology = Topology::FanIn;
      else if (sv == "fanout")
        o.topology = Topology::FanOut;
      else if (sv == "p2p")
        o.topology = Topology::P2P;
      else
        usage(2);
    } else if (k == "--host") {
      o.host = v;
    } else if (k == "--port") {
      o.port = static_cast<uint16_t>(to_uint("--port", v));
    } else if (k == "--version") {
      o.version = static_cast<int>(to_uint("--version", v));
      if (o.version != 4 && o.version != 5) usage(2);
    } else if (k == "--pubs") {
      o.pubs = static_cast<unsigned>(to_uint("--pubs", v));
    } else if (k == "--subs") {
      o.subs = static_cast<unsigned>(to_uint("--subs", v));
    } else if (k == "--qos") {
      o.qos = static_cast<unsigned>(to_uint("--qos", v));
      if (o.qos > 1) usage(2);
    } else if (k == "--size") {
      o.size = static_cast<unsigned>(to_uint("--size", v));
    } else if (k == "--duration") {
      o.duration = to_double("--duration", v);
    } else if (k == "--warmup") {
      o.warmup = to_double("--warmup", v);
    } else if (k == "--rate") {
      o.rate = to_double("--rate", v);
    } else if (k == "--pub-window") {
      o.pub_window = static_cast<unsigned>(to_uint("--pub-window", v));
    } else if (k == "--window-bytes") {
      o.window_bytes = static_cast<unsigned>(to_uint("--window-bytes", v));
    } else if (k == "--batch") {
      o.batch = static_cast<unsigned>(to_uint("--batch", v));
    } else if (k == "--conns") {
      o.conns = static_cast<unsigned>(to_uint("--conns", v));
    } else if (k == "--broker-pid") {
      o.broker_pid = static_cast<int>(to_uint("--broker-pid", v));
    } else if (k == "--settle") {
      o.settle = to_double("--settle", v);
    } else if (k == "--persistent") {
      o.persistent = to_uint("--persistent", v) != 0;
    } else {
      std::fprintf(stderr, "verge_loadgen: unknown option %s\n", argv[i - 1]);
      usage(2);
    }
  }
  if (o.size < 8) o.size = 8;
  if (o.pubs == 0) o.pubs = 1;
  if (o.subs == 0) o.subs = 1;
  if (o.batch == 0) o.batch = 1;
  if (o.pub_window == 0) o.pub_window = 1;
  return o;
}

}  // namespace loadgen
