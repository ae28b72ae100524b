#include "mqtt/auth_service.h"

#include <sodium.h>

namespace verge::mqtt {

namespace {
constexpr size_t kMaxCached = 100000;
}

AuthService::AuthService(PasswordFile passwords) : passwords_(std::move(passwords)) {
  if (sodium_init() < 0) std::abort();  // environment failure: libsodium cannot work
  randombytes_buf(key_, sizeof key_);
  thread_ = std::thread([this] { run(); });
}

AuthService::~AuthService() { stop(); }

void AuthService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string AuthService::digest(const std::string& user, const std::string& password) const {
  unsigned char out[32];
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_, sizeof key_, sizeof out);
  const uint32_t ulen = static_cast<uint32_t>(user.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(&ulen), sizeof ulen);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(user.data()), user.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(password.data()),
                            password.size());
  crypto_generichash_final(&st, out, sizeof out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

bool AuthService::cached(const std::string& user, const std::string& password) const {
  const std::string d = digest(user, password);
  std::lock_guard lock(mutex_);
  auto it = verified_.find(user);
  return it != verified_.end() && sodium_memcmp(it->second.data(), d.data(), d.size()) == 0;
}

void AuthService::verify_async(std::string user, std::string password,
                               std::function<void(bool)> done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(Job{std::move(user), std::move(password), std::move(done)});
  }
  cv_.notify_one();
}

void AuthService::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const bool ok = passwords_.verify(job.user, job.password);
    if (ok) {
      const std::string d = digest(job.user, job.password);
      std::lock_guard lock(mutex_);
      if (verified_.size() >= kMaxCached) verified_.clear();
      verified_[job.user] = d;
    }
    sodium_memzero(job.password.data(), job.password.size());
    job.done(ok);
  }
}

}  // namespace verge::mqtt
