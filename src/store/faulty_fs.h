// A Filesystem that injects faults into another one, from a seeded generator so a failing run
// can be replayed: EIO on appends and syncs, short and torn appends, a disk of fixed capacity
// (ENOSPC once full), and a simulated power loss that takes unsynced bytes away.
// Thread-safe: every operation takes one mutex (tests, not production speed).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "store/fs.h"

namespace verge::store {

struct FaultOptions {
  uint64_t seed = 1;
  double write_eio = 0;    // an append fails with EIO and writes nothing
  double short_write = 0;  // an append writes a random prefix of its data, then fails with EIO
  double torn_write = 0;   // an append writes a random prefix then random junk, then fails (EIO)
  double sync_eio = 0;     // a sync fails with EIO
  // A disk of this many bytes (the files this filesystem knows, counted by size): an append
  // past it writes what fits and fails with ENOSPC. 0 = unlimited.
  uint64_t capacity_bytes = 0;
};

class FaultyFilesystem final : public Filesystem {
 public:
  FaultyFilesystem(Filesystem& inner, FaultOptions options);
  ~FaultyFilesystem() override;

  // Changes the knobs (the generator keeps its state), e.g. to stop injecting faults.
  void set_options(const FaultOptions& options);
  // Power loss: every file keeps its synced bytes plus a random prefix of the rest, sometimes
  // followed by zeros (a file extended but never written); from then on every operation fails
  // with EIO until restart(). Files opened before stay dead after restart().
  void crash();
  void restart();

  struct Counts {
    uint64_t write_eio = 0, short_writes = 0, torn_writes = 0, sync_eio = 0, enospc = 0;
  };
  Counts counts() const;
  uint64_t used_bytes() const;  // what the capacity is compared with

  FsResult<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override;
  FsResult<void> create_dirs(const std::string& path) override;
  FsResult<std::vector<std::string>> list(const std::string& dir) override;
  FsResult<void> remove(const std::string& path) override;
  FsResult<void> rename(const std::string& from, const std::string& to) override;
  FsResult<void> sync_dir(const std::string& dir) override;
  bool exists(const std::string& path) override;

 private:
  friend class FaultyFile;
  struct State {
    uint64_t size = 0, synced = 0;
  };
  bool chance(double p);  // caller holds mu_
  uint64_t used_locked() const;
  FsError dead(const std::string& path) const;

  Filesystem& inner_;
  mutable std::mutex mu_;
  FaultOptions opt_;
  std::mt19937_64 rng_;
  std::map<std::string, State> files_;
  Counts counts_;
  bool crashed_ = false;
  uint64_t generation_ = 0;  // bumped by crash(): handles from before fail
};

}  // namespace verge::store
