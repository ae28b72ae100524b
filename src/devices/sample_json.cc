#include "devices/sample_json.h"

#include <charconv>

#include "core/json.h"

namespace verge::devices {

void SampleMessage::clear() {
  values_.clear();
  quality_.clear();
}

void SampleMessage::add_value(std::string_view point, const Value& v) {
  if (!values_.empty()) values_ += ',';
  append_json_string(values_, point);
  values_ += ':';
  v.append_json(values_);
}

void SampleMessage::add_quality(std::string_view point, Quality q, std::string_view reason) {
  if (!quality_.empty()) quality_ += ',';
  append_json_string(quality_, point);
  quality_ += ":{\"quality\":\"";
  quality_ += quality_name(q);
  quality_ += '"';
  if (!reason.empty()) {
    quality_ += ",\"reason\":";
    append_json_string(quality_, reason);
  }
  quality_ += '}';
}

void SampleMessage::write(std::string_view device, int64_t ts_ms, std::string& out) const {
  out.clear();
  out += "{\"device\":";
  append_json_string(out, device);
  out += ",\"ts\":";
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, ts_ms);
  out.append(buf, r.ptr);
  out += ",\"values\":{";
  out += values_;
  out += '}';
  if (!quality_.empty()) {
    out += ",\"quality\":{";
    out += quality_;
    out += '}';
  }
  out += '}';
}

}  // namespace verge::devices
