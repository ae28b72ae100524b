// `verge passwd FILE USER [--delete] [--password-stdin]`: manages a password file of argon2id
// hashes. Without --password-stdin the password is read from the terminal twice (no echo).
#pragma once

#include <string>

namespace verge::cmd {
struct PasswdOptions {
  std::string file;
  std::string user;
  bool remove = false;
  bool password_stdin = false;
  bool create = false;  // -c: create a new file (overwrite)
};
int run_passwd(const PasswdOptions& opts);
}  // namespace verge::cmd
