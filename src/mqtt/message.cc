#include "mqtt/message.h"

#include "mqtt/codec.h"

namespace verge::mqtt {

MessageRef Message::make(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                         const Properties* props, uint64_t expiry_at_ms,
                         uint64_t publisher_session) {
  auto m = std::make_shared<Message>();
  m->bytes_ = net::SharedBytes::concat(topic, payload);
  m->topic_ = m->bytes_.view().substr(0, topic.size());
  m->payload_ = m->bytes_.view().substr(topic.size());
  m->qos_ = qos;
  m->retain_ = retain;
  m->expiry_at_ms_ = expiry_at_ms;
  m->publisher_session_ = publisher_session;
  if (props != nullptr &&
      (props->payload_format_indicator || props->content_type || props->response_topic ||
       props->correlation_data || !props->user_properties.empty())) {
    auto fp = std::make_shared<ForwardedProperties>();
    fp->payload_format_indicator = props->payload_format_indicator;
    fp->content_type = props->content_type;
    fp->response_topic = props->response_topic;
    fp->correlation_data = props->correlation_data;
    fp->user_properties = props->user_properties;
    m->props_ = std::move(fp);
  }
  return m;
}

const net::SharedBytes& Message::qos0_packet(Version v) const {
  const int i = v == Version::V5 ? 1 : 0;
  std::call_once(encoded_once_[i], [this, v, i] {
    Publish p;
    p.topic = topic_;
    p.payload = payload_;
    if (props_ && v == Version::V5) {
      p.props.payload_format_indicator = props_->payload_format_indicator;
      p.props.content_type = props_->content_type;
      p.props.response_topic = props_->response_topic;
      p.props.correlation_data = props_->correlation_data;
      p.props.user_properties = props_->user_properties;
    }
    std::string out;
    encode(p, v, out);
    encoded_[i] = net::SharedBytes::copy_of(out);
  });
  return encoded_[i];
}

}  // namespace verge::mqtt
