#include "devices/types.h"

#include <array>
#include <utility>

namespace verge::devices {

namespace {

constexpr std::array<std::pair<std::string_view, DataType>, 9> kTypes = {{
    {"bool", DataType::Bool},
    {"int16", DataType::Int16},
    {"uint16", DataType::Uint16},
    {"int32", DataType::Int32},
    {"uint32", DataType::Uint32},
    {"int64", DataType::Int64},
    {"float32", DataType::Float32},
    {"float64", DataType::Float64},
    {"string", DataType::String},
}};

}  // namespace

std::optional<DataType> parse_data_type(std::string_view s) {
  for (const auto& [name, t] : kTypes) {
    if (name == s) return t;
  }
  return std::nullopt;
}

const char* data_type_name(DataType t) {
  for (const auto& [name, type] : kTypes) {
    if (type == t) return name.data();
  }
  return "?";
}

std::optional<Access> parse_access(std::string_view s) {
  if (s == "r") return Access::Read;
  if (s == "w") return Access::Write;
  if (s == "rw") return Access::ReadWrite;
  return std::nullopt;
}

const char* access_name(Access a) {
  switch (a) {
    case Access::Read:
      return "r";
    case Access::Write:
      return "w";
    case Access::ReadWrite:
      return "rw";
  }
  return "?";
}

const char* quality_name(Quality q) {
  switch (q) {
    case Quality::Good:
      return "good";
    case Quality::Uncertain:
      return "uncertain";
    case Quality::Bad:
      return "bad";
  }
  return "?";
}

}  // namespace verge::devices
