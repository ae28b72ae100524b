// Reason code names for logs and metric labels.
#include "mqtt/reason.h"

namespace verge::mqtt {

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::Success:
      return "success";
    case Reason::GrantedQos1:
      return "granted_qos1";
    case Reason::GrantedQos2:
      return "granted_qos2";
    case Reason::DisconnectWithWill:
      return "disconnect_with_will";
    case Reason::NoMatchingSubscribers:
      return "no_matching_subscribers";
    case Reason::NoSubscriptionExisted:
      return "no_subscription_existed";
    case Reason::ContinueAuthentication:
      return "continue_authentication";
    case Reason::ReAuthenticate:
      return "re_authenticate";
    case Reason::UnspecifiedError:
      return "unspecified_error";
    case Reason::MalformedPacket:
      return "malformed_packet";
    case Reason::ProtocolError:
      return "protocol_error";
    case Reason::ImplementationSpecificError:
      return "implementation_specific_error";
    case Reason::UnsupportedProtocolVersion:
      return "unsupported_protocol_version";
    case Reason::ClientIdentifierNotValid:
      return "client_identifier_not_valid";
    case Reason::BadUserNameOrPassword:
      return "bad_user_name_or_password";
    case Reason::NotAuthorized:
      return "not_authorized";
    case Reason::ServerUnavailable:
      return "server_unavailable";
    case Reason::ServerBusy:
      return "server_busy";
    case Reason::Banned:
      return "banned";
    case Reason::ServerShuttingDown:
      return "server_shutting_down";
    case Reason::BadAuthenticationMethod:
      return "bad_authentication_method";
    case Reason::KeepAliveTimeout:
      return "keep_alive_timeout";
    case Reason::SessionTakenOver:
      return "session_taken_over";
    case Reason::TopicFilterInvalid:
      return "topic_filter_invalid";
    case Reason::TopicNameInvalid:
      return "topic_name_invalid";
    case Reason::PacketIdentifierInUse:
      return "packet_identifier_in_use";
    case Reason::PacketIdentifierNotFound:
      return "packet_identifier_not_found";
    case Reason::ReceiveMaximumExceeded:
      return "receive_maximum_exceeded";
    case Reason::TopicAliasInvalid:
      return "topic_alias_invalid";
    case Reason::PacketTooLarge:
      return "packet_too_large";
    case Reason::MessageRateTooHigh:
      return "message_rate_too_high";
    case Reason::QuotaExceeded:
      return "quota_exceeded";
    case Reason::AdministrativeAction:
      return "administrative_action";
    case Reason::PayloadFormatInvalid:
      return "payload_format_invalid";
    case Reason::RetainNotSupported:
      return "retain_not_supported";
    case Reason::QosNotSupported:
      return "qos_not_supported";
    case Reason::UseAnotherServer:
      return "use_another_server";
    case Reason::ServerMoved:
      return "server_moved";
    case Reason::SharedSubscriptionsNotSupported:
      return "shared_subscriptions_not_supported";
    case Reason::ConnectionRateExceeded:
      return "connection_rate_exceeded";
    case Reason::MaximumConnectTime:
      return "maximum_connect_time";
    case Reason::SubscriptionIdentifiersNotSupported:
      return "subscription_identifiers_not_supported";
    case Reason::WildcardSubscriptionsNotSupported:
      return "wildcard_subscriptions_not_supported";
  }
  return "unknown";
}

}  // namespace verge::mqtt
