// The tokenizer of the rule language. It reads the statement on demand, one token per call, so a
// syntax error early in a statement is reported before a lexical error later in it. It never
// fails: a malformed token (unterminated string, bad number, stray byte) comes back as a
// Tok::Error token whose text is the message, and the parser reports it where it meets it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rules/ast.h"

namespace verge::rules {

enum class Tok : uint8_t {
  End,
  Error,        // text: the message
  Ident,        // text: the name as written; kw says whether it is a reserved word
  QuotedIdent,  // `name`: text without the backticks; never a keyword
  String,       // '...' or "...": text decoded
  Int,          // int_value; text as written
  Float,        // float_value; text as written
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Semicolon,
  Colon,
  Dot,
  Star,
  Plus,
  Minus,
  Slash,
  Percent,
  Eq,  // = or ==
  Ne,  // != or <>
  Lt,
  Le,
  Gt,
  Ge,
  Concat,  // ||
  Amp,
  Pipe,
  Caret,
  Arrow,  // ->
};

// Reserved words: they cannot name a field or stream unless quoted with backticks. Words that
// only matter in CREATE (STREAM, TABLE, WITH, the column types) are deliberately not reserved,
// so payload fields called `type` or `key` need no quoting.
enum class Kw : uint8_t {
  None,
  Select,
  From,
  Where,
  Group,
  By,
  Having,
  Order,
  Asc,
  Desc,
  Limit,
  As,
  Join,
  Left,
  Right,
  Full,
  Cross,
  Inner,
  Outer,
  On,
  And,
  Or,
  Not,
  In,
  Between,
  Like,
  Is,
  Null,
  True,
  False,
  Case,
  When,
  Then,
  Else,
  End,
  Over,
  Partition,
  Distinct,
};

// The canonical spelling of a keyword ("FROM"); "" for Kw::None.
const char* keyword_name(Kw kw);
// The keyword spelled `word` in any case, or Kw::None.
Kw keyword_of(std::string_view word);

struct Token {
  Tok kind = Tok::End;
  Kw kw = Kw::None;
  SourcePos pos;
  std::string text;
  int64_t int_value = 0;
  // An integer literal of exactly 9223372036854775808: only valid right after a unary minus.
  bool int_is_min_magnitude = false;
  double float_value = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}
  Token next();

 private:
  SourcePos pos_here() const;
  void advance(size_t n);
  // Skips whitespace and comments; false (and fills `err`) on an unterminated /* comment.
  bool skip_space(Token& err);
  Token lex_number();
  Token lex_quoted(char quote);
  Token lex_word();
  Token error(SourcePos pos, std::string message) const;

  std::string_view src_;
  size_t at_ = 0;
  size_t line_start_ = 0;
  uint32_t line_ = 1;
};

}  // namespace verge::rules
