#include "net/out_queue.h"

#include <algorithm>

namespace verge::net {

void OutQueue::append(std::string_view bytes) {
  if (bytes.empty()) return;
  size_ += bytes.size();
  if (segs_.size() > head_) {
    Segment& tail = segs_.back();
    if (!tail.shared &&
        tail.owned.size() + bytes.size() <= std::max(kChunk, tail.owned.capacity())) {
      tail.owned.append(bytes);
      return;
    }
  }
  compact();
  Segment& s = segs_.emplace_back();
  s.owned.reserve(std::max(bytes.size(), size_t{256}));
  s.owned.append(bytes);
}

void OutQueue::append_shared(const SharedBytes& bytes, std::string_view slice) {
  if (slice.empty()) return;
  if (slice.size() < kShareThreshold) {
    append(slice);
    return;
  }
  size_ += slice.size();
  compact();
  Segment& s = segs_.emplace_back();
  s.shared = bytes;
  s.slice = slice;
}

int OutQueue::gather(iovec* iov, int max) const {
  int n = 0;
  for (size_t i = head_; i < segs_.size() && n < max; ++i) {
    const Segment& s = segs_[i];
    const std::string_view b = s.bytes();
    iov[n].iov_base = const_cast<char*>(b.data() + s.offset);
    iov[n].iov_len = b.size() - s.offset;
    ++n;
  }
  return n;
}

void OutQueue::consume(size_t n) {
  size_ -= n;
  while (n > 0) {
    Segment& s = segs_[head_];
    const size_t left = s.bytes().size() - s.offset;
    if (n < left) {
      s.offset += n;
      return;
    }
    n -= left;
    s = Segment{};  // frees the chunk or drops the shared reference now
    ++head_;
  }
  if (head_ == segs_.size()) {
    segs_.clear();
    head_ = 0;
    if (segs_.capacity() > 16) segs_.shrink_to_fit();
  }
}

void OutQueue::compact() {
  // A connection that never fully drains would otherwise grow the vector forever.
  if (head_ >= 32 && head_ * 2 >= segs_.size()) {
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutQueue::clear() {
  segs_.clear();
  head_ = 0;
  segs_.shrink_to_fit();
  size_ = 0;
}

}  // namespace verge::net
