#include "cmd/passwd.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "mqtt/password_file.h"

namespace verge::cmd {
namespace {

constexpr size_t kMaxPassword = 65535;  // an MQTT password is a 16-bit length-prefixed field

// Wipes the password from memory when it goes out of scope.
struct Secret {
  std::string value;
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { wipe(); }
  void wipe() {
    if (!value.empty()) sodium_memzero(value.data(), value.size());
    value.clear();
  }
};

void fail(const std::string& msg) { std::fprintf(stderr, "verge passwd: %s\n", msg.c_str()); }

enum class ReadStatus { Ok, Eof, Error, TooLong };

// Reads one line from `fd` (without the newline and a trailing '\r') into `out`.
ReadStatus read_line(int fd, Secret& out) {
  out.wipe();
  bool any = false;
  for (;;) {
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ReadStatus::Error;
    }
    if (n == 0) break;
    any = true;
    if (c == '\n') break;
    if (out.value.size() >= kMaxPassword) {
      c = 0;
      return ReadStatus::TooLong;
    }
    out.value.push_back(c);
    c = 0;
  }
  if (!out.value.empty() && out.value.back() == '\r') out.value.pop_back();
  return any ? ReadStatus::Ok : ReadStatus::Eof;
}

// Terminal state to restore if we are interrupted while echo is off.
int g_tty_fd = -1;
struct termios g_saved_tty;

extern "C" void restore_tty_and_reraise(int sig) {
  if (g_tty_fd >= 0) ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved_tty);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Prompts on the controlling terminal and reads a line with echo off.
bool prompt_tty(int tty, const char* prompt, Secret& out) {
  if (::write(tty, prompt, std::strlen(prompt)) < 0) return false;
  struct termios saved {};
  if (::tcgetattr(tty, &saved) != 0) {
    fail(std::string("cannot read terminal settings: ") + std::strerror(errno));
    return false;
  }
  struct termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  g_saved_tty = saved;
  g_tty_fd = tty;
  auto old_int = ::signal(SIGINT, restore_tty_and_reraise);
  auto old_term = ::signal(SIGTERM, restore_tty_and_reraise);
  auto old_hup = ::signal(SIGHUP, restore_tty_and_reraise);
  if (::tcsetattr(tty, TCSAFLUSH, &quiet) != 0) {
    fail(std::string("cannot turn off echo: ") + std::strerror(errno));
    g_tty_fd = -1;
    ::signal(SIGINT, old_int);
    ::signal(SIGTERM, old_term);
    ::signal(SIGHUP, old_hup);
    return false;
  }
  ReadStatus st = read_line(tty, out);
  int read_errno = errno;
  ::tcsetattr(tty, TCSAFLUSH, &saved);
  g_tty_fd = -1;
  ::signal(SIGINT, old_int);
  ::signal(SIGTERM, old_term);
  ::signal(SIGHUP, old_hup);
  switch (st) {
    case ReadStatus::Ok:
      return true;
    case ReadStatus::Eof:
      fail("no password entered");
      return false;
    case ReadStatus::TooLong:
      fail("password longer than 65535 bytes");
      return false;
    case ReadStatus::Error:
      fail(std::string("cannot read the password: ") + std::strerror(read_errno));
      return false;
  }
  return false;
}

bool read_password(const PasswdOptions& opts, Secret& pw) {
  if (opts.password_stdin) {
    switch (read_line(STDIN_FILENO, pw)) {
      case ReadStatus::Ok:
        break;
      case ReadStatus::Eof:
        fail("no password on stdin");
        return false;
      case ReadStatus::TooLong:
        fail("password longer than 65535 bytes");
        return false;
      case ReadStatus::Error:
        fail(std::string("cannot read stdin: ") + std::strerror(errno));
        return false;
    }
  } else {
    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) {
      fail("no terminal to read the password from (use --password-stdin)");
      return false;
    }
    Secret again;
    bool ok = prompt_tty(tty, "Password: ", pw) && prompt_tty(tty, "Retype password: ", again);
    ::close(tty);
    if (!ok) return false;
    if (pw.value != again.value) {
      fail("passwords do not match");
      return false;
    }
  }
  if (pw.value.empty()) {
    fail("empty password");
    return false;
  }
  return true;
}

}  // namespace

int run_passwd(const PasswdOptions& opts) {
  if (opts.file.empty()) {
    fail("no password file given");
    return 2;
  }
  if (auto problem = mqtt::PasswordFile::username_problem(opts.user); !problem.empty()) {
    fail("invalid username '" + opts.user + "': " + std::string(problem));
    return 2;
  }
  if (opts.remove && opts.create) {
    fail("-c (create) cannot be combined with --delete");
    return 2;
  }

  struct stat st {};
  bool exists = ::stat(opts.file.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) {
    fail("cannot access " + opts.file + ": " + std::strerror(errno));
    return 1;
  }

  mqtt::PasswordFile pf;
  if (opts.remove || (exists && !opts.create)) {
    auto loaded = mqtt::PasswordFile::load(opts.file);
    if (!loaded) {
      fail(loaded.error().message);
      return 1;
    }
    pf = std::move(loaded).value();
  }

  if (opts.remove) {
    if (!pf.remove(opts.user)) {
      fail("user '" + opts.user + "' not found in " + opts.file);
      return 1;
    }
    if (auto saved = pf.save(opts.file); !saved) {
      fail(saved.error().message);
      return 1;
    }
    std::fprintf(stderr, "verge passwd: deleted user '%s' from %s\n", opts.user.c_str(),
                 opts.file.c_str());
    return 0;
  }

  bool existed = pf.has_user(opts.user);
  Secret pw;
  if (!read_password(opts, pw)) return 1;
  if (auto set = pf.set(opts.user, pw.value); !set) {
    fail(set.error().message);
    return 1;
  }
  pw.wipe();
  if (auto saved = pf.save(opts.file); !saved) {
    fail(saved.error().message);
    return 1;
  }
  std::fprintf(stderr, "verge passwd: %s '%s' in %s\n",
               existed ? "updated password of user" : "added user", opts.user.c_str(),
               opts.file.c_str());
  return 0;
}

}  // namespace verge::cmd
