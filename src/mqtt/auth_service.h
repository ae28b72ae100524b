// Checks credentials against the password file. argon2id is slow on purpose, so verification
// runs on a thread of its own, never on a network loop; successful checks are remembered (as a
// keyed BLAKE2b digest, never the password) so reconnect storms cost one hash each.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "mqtt/password_file.h"

namespace verge::mqtt {

class AuthService {
 public:
  explicit AuthService(PasswordFile passwords);
  ~AuthService();
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  // Thread-safe. True when these credentials verified before (no hashing needed).
  bool cached(const std::string& user, const std::string& password) const;
  // Thread-safe. `done(ok)` runs on the auth thread; post from there to your loop.
  void verify_async(std::string user, std::string password, std::function<void(bool)> done);
  // Stops the thread; queued checks are dropped without calling `done`.
  void stop();

 private:
  struct Job {
    std::string user;
    std::string password;
    std::function<void(bool)> done;
  };
  std::string digest(const std::string& user, const std::string& password) const;
  void run();

  PasswordFile passwords_;
  unsigned char key_[32];
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;                                   // guarded by mutex_
  std::unordered_map<std::string, std::string> verified_;  // user -> digest; guarded by mutex_
  bool stopping_ = false;                                  // guarded by mutex_
  std::thread thread_;
};

}  // namespace verge::mqtt
