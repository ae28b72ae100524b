// verge_loadgen: the MQTT load generator of `make bench` (see bench/run and docs/benchmarks.md).
#include <signal.h>

#include "options.h"
#include "scenarios.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const loadgen::Options o = loadgen::parse_options(argc, argv);
  switch (o.mode) {
    case loadgen::Mode::Throughput:
      return loadgen::run_throughput(o);
    case loadgen::Mode::Latency:
      return loadgen::run_latency(o);
    case loadgen::Mode::Idle:
      return loadgen::run_idle(o);
  }
  return 2;
}
