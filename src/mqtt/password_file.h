// The broker's password file: one "username:$argon2id$v=19$m=...,t=...,p=...$salt$hash" per line,
// '#' comments and blank lines ignored. Managed with `verge passwd` (see docs/security.md).
//
// verify() runs argon2id and is SLOW BY DESIGN (tens of milliseconds): the broker must call it off
// the network thread and may cache successful verifications.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::mqtt {

class PasswordFile {
 public:
  PasswordFile() = default;

  // Reads and parses a file. Errors name the file and line, e.g.
  //   "passwords.txt:3: expected 'user:$argon2id$...'"
  // or "cannot read passwords.txt: No such file or directory".
  static Result<PasswordFile> load(const std::string& path);
  static Result<PasswordFile> parse(std::string_view text, std::string_view name);

  // True when `user` exists and `password` matches its hash. An unknown user costs one argon2id
  // verification against a dummy hash, so the answer time does not reveal which users exist.
  // Thread-safe (const, no shared mutable state).
  bool verify(std::string_view user, std::string_view password) const;

  bool has_user(std::string_view user) const;
  size_t size() const { return index_.size(); }

  // Adds the user or replaces its password; the password is hashed with argon2id.
  // Fails for an invalid username (empty, ':', control characters, leading '#' or surrounding
  // spaces), an empty password, or when hashing fails (out of memory).
  Result<void> set(std::string_view user, std::string_view password);
  // Returns false when the user did not exist.
  bool remove(std::string_view user);

  // Writes the file atomically: a temporary file with mode 0600 in the same directory, fsync,
  // rename over `path`. Comments and the order of users are preserved.
  Result<void> save(const std::string& path) const;

  // Validates a username as accepted by set() and parse(). Returns an empty string when valid,
  // otherwise the reason.
  static std::string_view username_problem(std::string_view user);

 private:
  struct Line {
    std::string user;  // empty: a comment or blank line kept verbatim in `text`
    std::string text;  // the hash for a user line
  };
  std::vector<Line> lines_;
  std::map<std::string, size_t, std::less<>> index_;  // user -> position in lines_

  void reindex();
};

}  // namespace verge::mqtt
