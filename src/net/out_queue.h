// Bytes waiting to be written to one connection: small packets are copied into owned chunks,
// large shared payloads are referenced, and the whole queue leaves through writev.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "net/shared_bytes.h"

namespace verge::net {

class OutQueue {
 public:
  // Payloads at least this large are referenced instead of copied.
  static constexpr size_t kShareThreshold = 1024;

  void append(std::string_view bytes);
  void append_shared(const SharedBytes& bytes, std::string_view slice);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Fills up to `max` iovecs from the front; returns how many.
  int gather(iovec* iov, int max) const;
  void consume(size_t n);
  void clear();

 private:
  struct Segment {
    std::string owned;   // used when `shared` is empty
    SharedBytes shared;  // keeps `slice` alive
    std::string_view slice;
    size_t offset = 0;  // bytes of this segment already written
    std::string_view bytes() const { return shared ? slice : std::string_view(owned); }
  };
  void compact();
  static constexpr size_t kChunk = size_t{16} * 1024;
  // A vector with a head index, not a deque: libstdc++'s deque allocates ~600 bytes even when
  // empty, and idle connections must stay small.
  std::vector<Segment> segs_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace verge::net
