// A dynamically typed value: what a JSON document holds, plus a distinction between integers and
// floats. Rules evaluate over these, REST bodies and JSON payloads parse into them. Arrays and
// objects are immutable once built and shared by reference, so copying a Value is cheap (windows
// keep many rows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace verge {

class Value;
using ValueArray = std::vector<Value>;
// Members in document order. Lookup is linear: payloads are small, and a vector beats a map there.
using ValueObject = std::vector<std::pair<std::string, Value>>;

class Value {
 public:
  enum class Type : uint8_t { Null, Bool, Int, Float, String, Array, Object };

  Value() = default;
  Value(std::nullptr_t) {}                                                         // NOLINT
  Value(bool b) : v_(b) {}                                                         // NOLINT
  Value(int v) : v_(int64_t{v}) {}                                                 // NOLINT
  Value(int64_t v) : v_(v) {}                                                      // NOLINT
  Value(double v) : v_(v) {}                                                       // NOLINT
  Value(std::string s) : v_(std::move(s)) {}                                       // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}                                // NOLINT
  Value(const char* s) : v_(std::string(s)) {}                                     // NOLINT
  Value(ValueArray a) : v_(std::make_shared<const ValueArray>(std::move(a))) {}    // NOLINT
  Value(ValueObject o) : v_(std::make_shared<const ValueObject>(std::move(o))) {}  // NOLINT

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_int() const { return type() == Type::Int; }
  bool is_float() const { return type() == Type::Float; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }

  // Accessors: the caller has checked the type.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const ValueArray& as_array() const { return *std::get<std::shared_ptr<const ValueArray>>(v_); }
  const ValueObject& as_object() const { return *std::get<std::shared_ptr<const ValueObject>>(v_); }

  // An int or float as a double; nullopt for anything else.
  std::optional<double> number() const;
  // The member called `name` of an object; null for a missing member or a non-object.
  const Value* find(std::string_view name) const;
  // Element `i` of an array (negative counts from the end); null when out of range.
  const Value* at(int64_t i) const;

  // Truthiness as SQL WHERE sees it: only `true` passes (null, numbers and strings do not).
  bool is_true() const { return is_bool() && as_bool(); }

  // Appends compact JSON. Non-finite floats are written as null; floats that hold an integer
  // keep a ".0" so they read back as floats.
  void append_json(std::string& out) const;
  std::string to_json() const;

  // Deep equality: 1 == 1.0, objects compare members in order-insensitive fashion.
  friend bool operator==(const Value& a, const Value& b);
  // A hash consistent with ==, for group keys.
  size_t hash() const;

  static const char* type_name(Type t);  // "null", "bool", "int", "float", "string", ...

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string,
               std::shared_ptr<const ValueArray>, std::shared_ptr<const ValueObject>>
      v_;
};

// Orders two values: numbers with numbers, strings with strings (bytewise), bools with bools.
// nullopt when they cannot be compared (different kinds, or either is null).
std::optional<int> compare_values(const Value& a, const Value& b);

struct JsonError {
  std::string message;  // e.g. "expected ',' or '}'"
  size_t offset = 0;    // byte offset of the error in the input
};

// Strict RFC 8259 JSON. Integers that fit int64 become Int, others Float. Strings must be valid
// UTF-8; \u escapes (with surrogate pairs) are decoded. Nesting deeper than `max_depth` and
// trailing bytes other than whitespace are errors. Never throws; linear in the input size.
Result<Value, JsonError> parse_json(std::string_view text, size_t max_depth = 64);

}  // namespace verge
