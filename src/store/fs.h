// The filesystem seam of the store: every byte the store writes or reads goes through a
// Filesystem, so tests can inject EIO, ENOSPC, short writes and torn writes (FaultyFilesystem,
// seeded) without touching the code under test. The real one is thin POSIX.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::store {

// Errors carry errno so callers can tell a full disk (ENOSPC) from a failing one (EIO).
struct FsError {
  int code = 0;         // errno
  std::string message;  // "write /data/log/00000000000000000000.seg: No space left on device"
};

template <class T>
using FsResult = Result<T, FsError>;

// An open file. Writes are appends at the end (the store never overwrites in place, which keeps
// flash wear at one write per byte); reads are positional.
class File {
 public:
  virtual ~File() = default;
  // Appends all of `data` or fails. After a failure the file may hold any prefix of `data`
  // (a torn write); the caller truncates back to a known length before writing again.
  virtual FsResult<void> append(std::string_view data) = 0;
  virtual FsResult<size_t> read_at(uint64_t offset, char* buf, size_t len) = 0;  // 0 = end
  virtual FsResult<void> sync() = 0;                                             // fdatasync
  virtual FsResult<void> truncate(uint64_t length) = 0;
  virtual FsResult<uint64_t> size() = 0;
};

enum class OpenMode : uint8_t { Read, Append, Create /* truncates */ };

class Filesystem {
 public:
  virtual ~Filesystem() = default;
  virtual FsResult<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) = 0;
  virtual FsResult<void> create_dirs(const std::string& path) = 0;
  virtual FsResult<std::vector<std::string>> list(const std::string& dir) = 0;  // names only
  virtual FsResult<void> remove(const std::string& path) = 0;
  // Atomic replace, then fsync of the directory so the rename itself is durable.
  virtual FsResult<void> rename(const std::string& from, const std::string& to) = 0;
  virtual FsResult<void> sync_dir(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
};

// The process-wide POSIX filesystem.
Filesystem& real_filesystem();

}  // namespace verge::store
