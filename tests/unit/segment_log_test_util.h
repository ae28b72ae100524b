// Helpers shared by the segment log tests: a temporary directory, appends that wait for their
// acknowledgement (through a future, not a sleep), and reading a whole log.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "store/segment_log.h"

namespace verge::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "verge_log_test_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string log() const { return path_ + "/log"; }

 private:
  std::string path_;
};

inline AppendResult append_wait(SegmentLog& log, const std::vector<std::string>& records,
                                int64_t ts = 1000) {
  std::promise<AppendResult> done;
  auto fut = done.get_future();
  std::vector<std::string_view> views(records.begin(), records.end());
  auto r = log.append(views, ts, [&done](const AppendResult& a) { done.set_value(a); });
  if (!r) {
    ADD_FAILURE() << "append refused: " << r.error().message;
    return AppendResult{0, 0, FsError{-1, r.error().message}};
  }
  auto a = fut.get();
  EXPECT_EQ(a.first_offset, *r);
  return a;
}

struct Rec {
  uint64_t offset;
  int64_t ts;
  std::string payload;
  bool operator==(const Rec&) const = default;
};

inline std::vector<Rec> read_all(const SegmentLog& log, uint64_t from = 0, size_t max = SIZE_MAX) {
  std::vector<Rec> out;
  auto r = log.read(from, max, [&](const LogRecord& rec) {
    out.push_back({rec.offset, rec.timestamp_ms, std::string(rec.payload)});
    return true;
  });
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return out;
}

inline std::string payload_for(uint64_t i, size_t len = 100) {
  std::string s = "record-" + std::to_string(i) + "-";
  while (s.size() < len) s += static_cast<char>('a' + (i + s.size()) % 26);
  s.resize(len);
  return s;
}

inline std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace verge::store::testing
