// The POSIX filesystem behind real_filesystem(): thin wrappers that loop over EINTR and short
// writes and turn errno into FsError.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/fs.h"

namespace verge::store {
namespace {

FsError errno_error(const char* op, const std::string& path, int code = errno) {
  return FsError{code, std::string(op) + " " + path + ": " + std::strerror(code)};
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  FsResult<void> append(std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return unexpected(errno_error("write", path_));
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return {};
  }

  FsResult<size_t> read_at(uint64_t offset, char* buf, size_t len) override {
    size_t done = 0;
    while (done < len) {
      const ssize_t n = ::pread(fd_, buf + done, len - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return unexpected(errno_error("read", path_));
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    return done;
  }

  FsResult<void> sync() override {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return unexpected(errno_error("fdatasync", path_));
    }
    return {};
  }

  FsResult<void> truncate(uint64_t length) override {
    while (::ftruncate(fd_, static_cast<off_t>(length)) != 0) {
      if (errno != EINTR) return unexpected(errno_error("truncate", path_));
    }
    return {};
  }

  FsResult<uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return unexpected(errno_error("stat", path_));
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFilesystem final : public Filesystem {
 public:
  FsResult<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::Read:
        flags |= O_RDONLY;
        break;
      case OpenMode::Append:
        flags |= O_RDWR | O_APPEND;
        break;
      case OpenMode::Create:
        flags |= O_RDWR | O_APPEND | O_CREAT | O_TRUNC;
        break;
    }
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return unexpected(errno_error("open", path));
    if (mode == OpenMode::Create) {
      // The new name must survive a crash as well as the bytes written to it later.
      auto r = sync_dir(parent_dir(path));
      if (!r) {
        ::close(fd);
        return unexpected(r.error());
      }
    }
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  FsResult<void> create_dirs(const std::string& path) override {
    if (path.empty()) return {};
    for (size_t pos = 1;; ++pos) {
      pos = path.find('/', pos);
      const std::string prefix = path.substr(0, pos);
      if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return unexpected(errno_error("mkdir", prefix));
      }
      if (pos == std::string::npos) break;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return unexpected(errno_error("stat", path));
    if (!S_ISDIR(st.st_mode)) return unexpected(errno_error("mkdir", path, ENOTDIR));
    return {};
  }

  FsResult<std::vector<std::string>> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return unexpected(errno_error("opendir", dir));
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    return names;
  }

  FsResult<void> remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return unexpected(errno_error("unlink", path));
    return {};
  }

  FsResult<void> rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return unexpected(errno_error("rename", from));
    return sync_dir(parent_dir(to));
  }

  FsResult<void> sync_dir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return unexpected(errno_error("open", dir));
    int rc;
    do {
      rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return unexpected(errno_error("fsync", dir, err));
    return {};
  }

  bool exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
};

}  // namespace

Filesystem& real_filesystem() {
  static PosixFilesystem fs;
  return fs;
}

}  // namespace verge::store
