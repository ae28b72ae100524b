// Topic names and filters (spec 4.7): validation and matching.
#pragma once

#include <string_view>

namespace verge::mqtt {

// A topic name for PUBLISH: non-empty, no '+' or '#', valid UTF-8 checked by the codec.
bool valid_topic_name(std::string_view topic);

// A topic filter for SUBSCRIBE: '+' occupies a whole level, '#' only as the last whole level.
// A shared subscription "$share/{group}/{filter}" is valid when the group has no '+', '#' or '/'
// and the filter is valid.
bool valid_topic_filter(std::string_view filter);

// True when `topic` matches `filter`. Topics starting with '$' are not matched by a filter
// starting with a wildcard (spec 4.7.2).
bool topic_matches(std::string_view filter, std::string_view topic);

// True when every topic matched by `inner` is also matched by `outer` (used by the ACL to decide
// whether a subscription filter stays within what a rule allows).
bool filter_covers(std::string_view outer, std::string_view inner);

// Splits "$share/group/filter". Returns false when `filter` is not a shared subscription.
bool split_shared(std::string_view filter, std::string_view& group, std::string_view& inner);

}  // namespace verge::mqtt

namespace verge::mqtt {
// True when some topic name is matched by both filters.
bool filters_intersect(std::string_view a, std::string_view b);
}  // namespace verge::mqtt
