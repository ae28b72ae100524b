// Fuzzes the ACL file parser and the rule evaluation with hostile identities: the first line of
// the input is a username/client id/topic triple, the rest is the ACL file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mqtt/acl.h"
#include "mqtt/topic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view head = in.substr(0, nl);
  const std::string_view file =
      nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto acl = verge::mqtt::Acl::parse(file, "fuzz.acl");
  if (!acl) return 0;
  // head = "user client topic", split on spaces (missing parts stay empty).
  std::string_view parts[3];
  std::string_view rest = head;
  for (auto& p : parts) {
    const size_t sp = rest.find(' ');
    p = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  for (const bool authenticated : {false, true}) {
    const verge::mqtt::AclSubject who{parts[0], authenticated, parts[1]};
    const std::string_view topic = parts[2];
    if (verge::mqtt::valid_topic_name(topic)) {
      const bool pub = acl->may_publish(who, topic);
      const bool recv = acl->may_receive(who, topic);
      (void)pub;
      // Subscribing to exactly this topic, if allowed without a per-message check, must agree
      // with the per-message answer for the same topic. ("$share/g/t" as a subscription means
      // the shared filter "t", so such topics are not comparable.)
      std::string_view group;
      std::string_view inner;
      const auto sub = acl->may_subscribe(who, topic);
      if (!verge::mqtt::split_shared(topic, group, inner) && sub.allowed &&
          !sub.needs_delivery_check && !recv) {
        std::abort();
      }
    }
    if (verge::mqtt::valid_topic_filter(topic)) (void)acl->may_subscribe(who, topic);
  }
  return 0;
}
