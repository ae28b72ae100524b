#include "mqtt/password_file.h"
#include "core/file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace verge::mqtt {
namespace {

// argon2id cost parameters for new hashes. libsodium's "interactive" preset is opslimit 2 with
// 64 MiB; we trade memory for passes: 3 passes over 16 MiB costs about the same CPU time (tens of
// milliseconds on an edge-class CPU) while a burst of concurrent verifications (a connect storm
// after a network outage) needs 16 MiB each instead of 64 MiB, which small gateways can afford.
// The broker caches successful verifications, so the cost is paid once per credential, not once
// per connect. Hashes carry their own parameters, so changing these only affects new passwords.
constexpr unsigned long long kOpsLimit = 3;
constexpr size_t kMemLimit = size_t{16} << 20;

constexpr std::string_view kHashPrefix = "$argon2id$";

bool sodium_ready() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = sodium_init() >= 0; });
  return ok;
}

// A hash of a random password, verified against when the user is unknown so that unknown and
// known users take about the same time.
const std::string& dummy_hash() {
  static std::once_flag once;
  static std::string hash;
  std::call_once(once, [] {
    if (!sodium_ready()) return;
    unsigned char pw[16];
    randombytes_buf(pw, sizeof pw);
    char out[crypto_pwhash_argon2id_STRBYTES];
    if (crypto_pwhash_argon2id_str(out, reinterpret_cast<const char*>(pw), sizeof pw, kOpsLimit,
                                   kMemLimit) == 0) {
      hash = out;
    }
  });
  return hash;
}

bool valid_hash(std::string_view h) {
  if (h.size() < kHashPrefix.size() || h.substr(0, kHashPrefix.size()) != kHashPrefix) return false;
  if (h.size() >= crypto_pwhash_argon2id_STRBYTES) return false;
  for (char c : h.substr(kHashPrefix.size())) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '$' || c == '=' || c == ',';
    if (!ok) return false;
  }
  if (!sodium_ready()) return false;
  std::string s(h);  // libsodium wants a NUL-terminated string
  // Returns -1 when the string is not a well-formed argon2id hash.
  return crypto_pwhash_argon2id_str_needs_rehash(s.c_str(), kOpsLimit, kMemLimit) != -1;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view PasswordFile::username_problem(std::string_view user) {
  if (user.empty()) return "empty username";
  for (char ch : user) {
    auto c = static_cast<unsigned char>(ch);
    if (c == ':') return "username contains ':'";
    if (c < 0x20 || c == 0x7f) return "username contains a control character";
  }
  if (user.front() == '#') return "username starts with '#'";
  if (user.front() == ' ' || user.back() == ' ') return "username starts or ends with a space";
  return {};
}

Result<PasswordFile> PasswordFile::parse(std::string_view text, std::string_view name) {
  PasswordFile pf;
  size_t lineno = 0;
  std::string_view raw;
  while (next_line(text, raw)) {
    ++lineno;
    auto err = [&](std::string_view what) { return unexpected(line_error(name, lineno, what)); };

    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') {
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      pf.lines_.push_back({"", std::string(raw)});
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return err("expected 'user:$argon2id$...'");
    std::string_view user = line.substr(0, colon);
    std::string_view hash = line.substr(colon + 1);
    if (auto problem = username_problem(user); !problem.empty()) return err(problem);
    if (!valid_hash(hash)) return err("expected 'user:$argon2id$...'");
    if (pf.index_.count(user) != 0) return err("duplicate user '" + std::string(user) + "'");
    pf.index_.emplace(std::string(user), pf.lines_.size());
    pf.lines_.push_back({std::string(user), std::string(hash)});
  }
  return pf;
}

Result<PasswordFile> PasswordFile::load(const std::string& path) {
  auto text = read_text_file(path, "password file");
  if (!text) return unexpected(text.error());
  return parse(*text, path);
}

bool PasswordFile::verify(std::string_view user, std::string_view password) const {
  if (!sodium_ready()) return false;
  auto it = index_.find(user);
  bool known = it != index_.end();
  const std::string& hash = known ? lines_[it->second].text : dummy_hash();
  if (hash.empty()) return false;
  bool match =
      crypto_pwhash_argon2id_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return known && match;
}

bool PasswordFile::has_user(std::string_view user) const { return index_.count(user) != 0; }

Result<void> PasswordFile::set(std::string_view user, std::string_view password) {
  if (auto problem = username_problem(user); !problem.empty()) {
    return unexpected(Error{std::string(problem)});
  }
  if (password.empty()) return unexpected(Error{"empty password"});
  if (!sodium_ready()) return unexpected(Error{"libsodium initialisation failed"});
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), kOpsLimit, kMemLimit) !=
      0) {
    return unexpected(Error{"password hashing failed (out of memory?)"});
  }
  auto it = index_.find(user);
  if (it != index_.end()) {
    lines_[it->second].text = out;
  } else {
    index_.emplace(std::string(user), lines_.size());
    lines_.push_back({std::string(user), std::string(out)});
  }
  return {};
}

bool PasswordFile::remove(std::string_view user) {
  auto it = index_.find(user);
  if (it == index_.end()) return false;
  lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(it->second));
  reindex();
  return true;
}

void PasswordFile::reindex() {
  index_.clear();
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (!lines_[i].user.empty()) index_.emplace(lines_[i].user, i);
  }
}

Result<void> PasswordFile::save(const std::string& path) const {
  std::string text;
  for (const auto& l : lines_) {
    if (l.user.empty()) {
      text += l.text;
    } else {
      text += l.user;
      text += ':';
      text += l.text;
    }
    text += '\n';
  }

  std::string tmp = path + ".tmp.XXXXXX";  // same directory, so rename() is atomic
  int fd = ::mkstemp(tmp.data());          // creates the file with mode 0600
  if (fd < 0)
    return unexpected(
        Error{"cannot create a temporary file next to " + path + ": " + errno_text(errno)});
  auto fail = [&](std::string_view what) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return unexpected(Error{std::string(what) + " " + tmp + ": " + errno_text(e)});
  };
  if (::fchmod(fd, 0600) != 0) return fail("cannot chmod");
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return unexpected(Error{"cannot write " + tmp + ": " + errno_text(e)});
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return unexpected(Error{"cannot rename " + tmp + " to " + path + ": " + errno_text(e)});
  }
  // Make the rename durable too.
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace verge::mqtt
