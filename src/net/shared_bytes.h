// Immutable, reference-counted bytes shared between threads (one PUBLISH payload fanned out to
// many subscribers is stored once). The count is atomic; the bytes never change after creation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace verge::net {

class SharedBytes {
 public:
  SharedBytes() = default;
  static SharedBytes copy_of(std::string_view bytes) {
    void* mem = ::operator new(sizeof(Block) + bytes.size());
    auto* b = new (mem) Block{};
    b->size = bytes.size();
    if (!bytes.empty()) std::memcpy(b->data(), bytes.data(), bytes.size());
    return SharedBytes(b);
  }
  // One block holding `a` followed by `b` (a message's topic and payload share one allocation).
  static SharedBytes concat(std::string_view a, std::string_view b) {
    void* mem = ::operator new(sizeof(Block) + a.size() + b.size());
    auto* blk = new (mem) Block{};
    blk->size = a.size() + b.size();
    if (!a.empty()) std::memcpy(blk->data(), a.data(), a.size());
    if (!b.empty()) std::memcpy(blk->data() + a.size(), b.data(), b.size());
    return SharedBytes(blk);
  }
  SharedBytes(const SharedBytes& o) : b_(o.b_) {
    if (b_) b_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  SharedBytes(SharedBytes&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  SharedBytes& operator=(SharedBytes o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~SharedBytes() { release(); }

  std::string_view view() const {
    return b_ ? std::string_view(reinterpret_cast<const char*>(b_->data()), b_->size)
              : std::string_view();
  }
  size_t size() const { return b_ ? b_->size : 0; }
  explicit operator bool() const { return b_ != nullptr; }

 private:
  struct Block {
    std::atomic<uint32_t> refs{1};
    size_t size = 0;
    uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  };
  explicit SharedBytes(Block* b) : b_(b) {}
  void release() {
    if (b_ && b_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      b_->~Block();
      ::operator delete(b_);
    }
    b_ = nullptr;
  }
  Block* b_ = nullptr;
};

}  // namespace verge::net
