#include "store/faulty_fs.h"

#include <cerrno>
#include <cstring>

namespace verge::store {

class FaultyFile final : public File {
 public:
  FaultyFile(FaultyFilesystem& fs, std::unique_ptr<File> inner, std::string path, uint64_t gen)
      : fs_(fs), inner_(std::move(inner)), path_(std::move(path)), gen_(gen) {}

  FsResult<void> append(std::string_view data) override {
    std::lock_guard g(fs_.mu_);
    if (fs_.crashed_ || gen_ != fs_.generation_) return unexpected(fs_.dead(path_));
    auto& st = fs_.files_[path_];
    const auto partial = [&](size_t n, std::string_view junk, int code,
                             const char* what) -> FsResult<void> {
      std::string bytes(data.substr(0, n));
      bytes.append(junk);
      if (!bytes.empty()) {
        if (auto r = inner_->append(bytes); !r) return r;
        st.size += bytes.size();
      }
      return unexpected(FsError{code, "write " + path_ + ": " + what});
    };
    if (fs_.opt_.capacity_bytes != 0) {
      const uint64_t used = fs_.used_locked();
      const uint64_t room = used >= fs_.opt_.capacity_bytes ? 0 : fs_.opt_.capacity_bytes - used;
      if (data.size() > room) {
        ++fs_.counts_.enospc;
        return partial(static_cast<size_t>(room), {}, ENOSPC, "No space left on device (injected)");
      }
    }
    if (fs_.chance(fs_.opt_.write_eio)) {
      ++fs_.counts_.write_eio;
      return unexpected(FsError{EIO, "write " + path_ + ": Input/output error (injected)"});
    }
    if (!data.empty() && fs_.chance(fs_.opt_.short_write)) {
      ++fs_.counts_.short_writes;
      return partial(static_cast<size_t>(fs_.rng_() % data.size()), {}, EIO,
                     "short write, then Input/output error (injected)");
    }
    if (!data.empty() && fs_.chance(fs_.opt_.torn_write)) {
      ++fs_.counts_.torn_writes;
      std::string junk(1 + fs_.rng_() % 64, '\0');
      for (auto& c : junk) c = static_cast<char>(fs_.rng_());
      return partial(static_cast<size_t>(fs_.rng_() % data.size()), junk, EIO,
                     "torn write (injected)");
    }
    if (auto r = inner_->append(data); !r) return r;
    st.size += data.size();
    return {};
  }

  FsResult<size_t> read_at(uint64_t offset, char* buf, size_t len) override {
    {
      std::lock_guard g(fs_.mu_);
      if (fs_.crashed_ || gen_ != fs_.generation_) return unexpected(fs_.dead(path_));
    }
    return inner_->read_at(offset, buf, len);  // positional reads need no lock
  }

  FsResult<void> sync() override {
    std::lock_guard g(fs_.mu_);
    if (fs_.crashed_ || gen_ != fs_.generation_) return unexpected(fs_.dead(path_));
    if (fs_.chance(fs_.opt_.sync_eio)) {
      ++fs_.counts_.sync_eio;
      return unexpected(FsError{EIO, "fdatasync " + path_ + ": Input/output error (injected)"});
    }
    if (auto r = inner_->sync(); !r) return r;
    auto& st = fs_.files_[path_];
    st.synced = st.size;
    return {};
  }

  FsResult<void> truncate(uint64_t length) override {
    std::lock_guard g(fs_.mu_);
    if (fs_.crashed_ || gen_ != fs_.generation_) return unexpected(fs_.dead(path_));
    if (auto r = inner_->truncate(length); !r) return r;
    auto& st = fs_.files_[path_];
    st.size = length;
    st.synced = std::min(st.synced, length);
    return {};
  }

  FsResult<uint64_t> size() override {
    {
      std::lock_guard g(fs_.mu_);
      if (fs_.crashed_ || gen_ != fs_.generation_) return unexpected(fs_.dead(path_));
    }
    return inner_->size();
  }

 private:
  FaultyFilesystem& fs_;
  std::unique_ptr<File> inner_;
  std::string path_;
  uint64_t gen_;
};

FaultyFilesystem::FaultyFilesystem(Filesystem& inner, FaultOptions options)
    : inner_(inner), opt_(options), rng_(options.seed) {}
FaultyFilesystem::~FaultyFilesystem() = default;

void FaultyFilesystem::set_options(const FaultOptions& options) {
  std::lock_guard g(mu_);
  opt_ = options;
}

bool FaultyFilesystem::chance(double p) {
  if (p <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

uint64_t FaultyFilesystem::used_locked() const {
  uint64_t n = 0;
  for (const auto& [path, st] : files_) n += st.size;
  return n;
}

uint64_t FaultyFilesystem::used_bytes() const {
  std::lock_guard g(mu_);
  return used_locked();
}

FaultyFilesystem::Counts FaultyFilesystem::counts() const {
  std::lock_guard g(mu_);
  return counts_;
}

FsError FaultyFilesystem::dead(const std::string& path) const {
  return FsError{EIO, path + ": Input/output error (simulated power loss)"};
}

void FaultyFilesystem::crash() {
  std::lock_guard g(mu_);
  for (auto& [path, st] : files_) {
    if (st.size <= st.synced) continue;
    const uint64_t unsynced = st.size - st.synced;
    const uint64_t keep = st.synced + rng_() % (unsynced + 1);
    auto f = inner_.open(path, OpenMode::Append);
    if (!f) continue;
    (void)(*f)->truncate(keep);
    st.size = keep;
    if (rng_() % 2 == 0) {  // the file grew but its last blocks were never written
      const std::string zeros(1 + rng_() % 4096, '\0');
      if ((*f)->append(zeros)) st.size += zeros.size();
    }
    (void)(*f)->sync();
    st.synced = st.size;
  }
  crashed_ = true;
  ++generation_;
}

void FaultyFilesystem::restart() {
  std::lock_guard g(mu_);
  crashed_ = false;
}

FsResult<std::unique_ptr<File>> FaultyFilesystem::open(const std::string& path, OpenMode mode) {
  std::lock_guard g(mu_);
  if (crashed_) return unexpected(dead(path));
  auto f = inner_.open(path, mode);
  if (!f) return unexpected(f.error());
  auto size = (*f)->size();
  if (!size) return unexpected(size.error());
  // A file first seen here is taken as durable as it is; a known one keeps its synced length.
  auto it = files_.try_emplace(path, State{*size, *size}).first;
  it->second.size = *size;
  it->second.synced = mode == OpenMode::Create ? 0 : std::min(it->second.synced, *size);
  return std::unique_ptr<File>(new FaultyFile(*this, std::move(*f), path, generation_));
}

FsResult<void> FaultyFilesystem::create_dirs(const std::string& path) {
  std::lock_guard g(mu_);
  if (crashed_) return unexpected(dead(path));
  return inner_.create_dirs(path);
}

FsResult<std::vector<std::string>> FaultyFilesystem::list(const std::string& dir) {
  std::lock_guard g(mu_);
  if (crashed_) return unexpected(dead(dir));
  return inner_.list(dir);
}

FsResult<void> FaultyFilesystem::remove(const std::string& path) {
  std::lock_guard g(mu_);
  if (crashed_) return unexpected(dead(path));
  auto r = inner_.remove(path);
  if (r) files_.erase(path);
  return r;
}

FsResult<void> FaultyFilesystem::rename(const std::string& from, const std::string& to) {
  std::lock_guard g(mu_);
  if (crashed_) return unexpected(dead(from));
  auto r = inner_.rename(from, to);
  if (r) {
    auto it = files_.find(from);
    if (it != files_.end()) {
      files_[to] = it->second;
      files_.erase(from);
    }
  }
  return r;
}

FsResult<void> FaultyFilesystem::sync_dir(const std::string& dir) {
  std::lock_guard g(mu_);
  if (crashed_) return unexpected(dead(dir));
  return inner_.sync_dir(dir);
}

bool FaultyFilesystem::exists(const std::string& path) {
  std::lock_guard g(mu_);
  return !crashed_ && inner_.exists(path);
}

}  // namespace verge::store
