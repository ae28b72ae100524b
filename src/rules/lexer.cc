#include "rules/lexer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace verge::rules {

namespace {

struct KeywordEntry {
  Kw kw;
  const char* name;
};

constexpr std::array<KeywordEntry, 37> kKeywords{{
    {Kw::Select, "SELECT"},
    {Kw::From, "FROM"},
    {Kw::Where, "WHERE"},
    {Kw::Group, "GROUP"},
    {Kw::By, "BY"},
    {Kw::Having, "HAVING"},
    {Kw::Order, "ORDER"},
    {Kw::Asc, "ASC"},
    {Kw::Desc, "DESC"},
    {Kw::Limit, "LIMIT"},
    {Kw::As, "AS"},
    {Kw::Join, "JOIN"},
    {Kw::Left, "LEFT"},
    {Kw::Right, "RIGHT"},
    {Kw::Full, "FULL"},
    {Kw::Cross, "CROSS"},
    {Kw::Inner, "INNER"},
    {Kw::Outer, "OUTER"},
    {Kw::On, "ON"},
    {Kw::And, "AND"},
    {Kw::Or, "OR"},
    {Kw::Not, "NOT"},
    {Kw::In, "IN"},
    {Kw::Between, "BETWEEN"},
    {Kw::Like, "LIKE"},
    {Kw::Is, "IS"},
    {Kw::Null, "NULL"},
    {Kw::True, "TRUE"},
    {Kw::False, "FALSE"},
    {Kw::Case, "CASE"},
    {Kw::When, "WHEN"},
    {Kw::Then, "THEN"},
    {Kw::Else, "ELSE"},
    {Kw::End, "END"},
    {Kw::Over, "OVER"},
    {Kw::Partition, "PARTITION"},
    {Kw::Distinct, "DISTINCT"},
}};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF): strings end up in JSON output.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string describe_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  char buf[32];
  if (u >= 0x21 && u < 0x7F) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "byte 0x%02X", u);
  }
  return buf;
}

}  // namespace

const char* keyword_name(Kw kw) {
  for (const auto& k : kKeywords) {
    if (k.kw == kw) return k.name;
  }
  return "";
}

Kw keyword_of(std::string_view word) {
  if (word.size() > 9) return Kw::None;
  for (const auto& k : kKeywords) {
    std::string_view name(k.name);
    if (name.size() != word.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) same = upper(word[i]) == name[i];
    if (same) return k.kw;
  }
  return Kw::None;
}

SourcePos Lexer::pos_here() const {
  return SourcePos{line_, static_cast<uint32_t>(at_ - line_start_ + 1)};
}

void Lexer::advance(size_t n) {
  for (size_t i = 0; i < n && at_ < src_.size(); ++i) {
    if (src_[at_] == '\n') {
      ++line_;
      line_start_ = at_ + 1;
    }
    ++at_;
  }
}

Token Lexer::error(SourcePos pos, std::string message) const {
  Token t;
  t.kind = Tok::Error;
  t.pos = pos;
  t.text = std::move(message);
  return t;
}

bool Lexer::skip_space(Token& err) {
  while (at_ < src_.size()) {
    const char c = src_[at_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      advance(1);
    } else if (c == '-' && at_ + 1 < src_.size() && src_[at_ + 1] == '-') {
      while (at_ < src_.size() && src_[at_] != '\n') advance(1);
    } else if (c == '/' && at_ + 1 < src_.size() && src_[at_ + 1] == '*') {
      const SourcePos start = pos_here();
      const size_t end = src_.find("*/", at_ + 2);
      if (end == std::string_view::npos) {
        err = error(start, "unterminated comment (missing '*/')");
        advance(src_.size() - at_);
        return false;
      }
      advance(end + 2 - at_);
    } else {
      break;
    }
  }
  return true;
}

Token Lexer::next() {
  Token err;
  if (!skip_space(err)) return err;
  Token t;
  t.pos = pos_here();
  if (at_ >= src_.size()) {
    t.kind = Tok::End;
    return t;
  }
  const char c = src_[at_];
  const char c2 = at_ + 1 < src_.size() ? src_[at_ + 1] : '\0';
  if (is_digit(c)) return lex_number();
  if (is_ident_start(c)) return lex_word();
  if (c == '\'' || c == '"' || c == '`') return lex_quoted(c);

  auto op = [&](Tok k, size_t n) {
    t.kind = k;
    t.text = std::string(src_.substr(at_, n));
    advance(n);
    return t;
  };
  switch (c) {
    case '(':
      return op(Tok::LParen, 1);
    case ')':
      return op(Tok::RParen, 1);
    case '[':
      return op(Tok::LBracket, 1);
    case ']':
      return op(Tok::RBracket, 1);
    case ',':
      return op(Tok::Comma, 1);
    case ';':
      return op(Tok::Semicolon, 1);
    case ':':
      return op(Tok::Colon, 1);
    case '.':
      return op(Tok::Dot, 1);
    case '*':
      return op(Tok::Star, 1);
    case '+':
      return op(Tok::Plus, 1);
    case '-':
      return c2 == '>' ? op(Tok::Arrow, 2) : op(Tok::Minus, 1);
    case '/':
      return op(Tok::Slash, 1);
    case '%':
      return op(Tok::Percent, 1);
    case '=':
      return c2 == '=' ? op(Tok::Eq, 2) : op(Tok::Eq, 1);
    case '!':
      if (c2 == '=') return op(Tok::Ne, 2);
      break;
    case '<':
      if (c2 == '=') return op(Tok::Le, 2);
      if (c2 == '>') return op(Tok::Ne, 2);
      return op(Tok::Lt, 1);
    case '>':
      return c2 == '=' ? op(Tok::Ge, 2) : op(Tok::Gt, 1);
    case '|':
      return c2 == '|' ? op(Tok::Concat, 2) : op(Tok::Pipe, 1);
    case '&':
      return op(Tok::Amp, 1);
    case '^':
      return op(Tok::Caret, 1);
    default:
      break;
  }
  Token bad = error(t.pos, "unexpected character " + describe_byte(c));
  advance(1);
  return bad;
}

Token Lexer::lex_word() {
  Token t;
  t.pos = pos_here();
  const size_t start = at_;
  while (at_ < src_.size() && is_ident_char(src_[at_])) advance(1);
  t.kind = Tok::Ident;
  t.text = std::string(src_.substr(start, at_ - start));
  t.kw = keyword_of(t.text);
  return t;
}

Token Lexer::lex_number() {
  Token t;
  t.pos = pos_here();
  const size_t start = at_;
  bool is_float = false;
  while (at_ < src_.size() && is_digit(src_[at_])) advance(1);
  if (at_ + 1 < src_.size() && src_[at_] == '.' && is_digit(src_[at_ + 1])) {
    is_float = true;
    advance(1);
    while (at_ < src_.size() && is_digit(src_[at_])) advance(1);
  }
  if (at_ < src_.size() && (src_[at_] == 'e' || src_[at_] == 'E')) {
    size_t k = at_ + 1;
    if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
    if (k < src_.size() && is_digit(src_[k])) {
      is_float = true;
      advance(k - at_);
      while (at_ < src_.size() && is_digit(src_[at_])) advance(1);
    }
  }
  const std::string_view text = src_.substr(start, at_ - start);
  t.text = std::string(text);
  if (at_ < src_.size() && (is_ident_char(src_[at_]) || src_[at_] == '.')) {
    // "10s", "1e", "1.2.3": a number glued to more characters is a typo, not two tokens.
    size_t end = at_;
    while (end < src_.size() && (is_ident_char(src_[end]) || src_[end] == '.')) ++end;
    std::string shown(src_.substr(start, std::min<size_t>(end - start, 32)));
    Token e = error(t.pos, "invalid number '" + shown + "'");
    advance(end - at_);
    return e;
  }
  if (is_float) {
    double v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc() || !std::isfinite(v)) {
      return error(t.pos, "number " + t.text.substr(0, 32) + " is out of range");
    }
    t.kind = Tok::Float;
    t.float_value = v;
    return t;
  }
  uint64_t v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
  if (r.ec != std::errc() || v > kMinMagnitude) {
    return error(t.pos, "integer " + t.text.substr(0, 32) +
                            " is out of range (integers are 64-bit signed; write it as a "
                            "float, e.g. " +
                            t.text.substr(0, 32) + ".0)");
  }
  t.kind = Tok::Int;
  if (v == kMinMagnitude) {
    t.int_is_min_magnitude = true;
    t.int_value = INT64_MIN;
  } else {
    t.int_value = static_cast<int64_t>(v);
  }
  return t;
}

Token Lexer::lex_quoted(char quote) {
  Token t;
  t.pos = pos_here();
  advance(1);
  std::string out;
  bool closed = false;
  while (at_ < src_.size()) {
    const char c = src_[at_];
    if (c == quote) {
      if (at_ + 1 < src_.size() && src_[at_ + 1] == quote) {  // '' stands for '
        out += quote;
        advance(2);
        continue;
      }
      advance(1);
      closed = true;
      break;
    }
    if (c == '\\' && quote != '`' && at_ + 1 < src_.size()) {
      const char e = src_[at_ + 1];
      switch (e) {
        case '\\':
        case '\'':
        case '"':
          out += e;
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        default:
          // Unknown escapes stay as written, so LIKE patterns such as 'a\_b' keep their escape.
          out += '\\';
          out += e;
          break;
      }
      advance(2);
      continue;
    }
    out += c;
    advance(1);
  }
  const char* what = quote == '`' ? "quoted identifier" : "string";
  if (!closed) {
    return error(t.pos, std::string("unterminated ") + what + " (missing closing " + quote + ")");
  }
  if (!valid_utf8(out)) return error(t.pos, std::string("invalid UTF-8 in ") + what);
  if (quote == '`') {
    if (out.empty()) return error(t.pos, "empty quoted identifier");
    t.kind = Tok::QuotedIdent;
  } else {
    t.kind = Tok::String;
  }
  t.text = std::move(out);
  return t;
}

}  // namespace verge::rules
