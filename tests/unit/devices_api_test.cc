// The device REST API's routing and the status of a desired call.
#include <gtest/gtest.h>

#include "api/devices_api.h"

namespace verge::api {
namespace {

Value results(std::initializer_list<const char*> statuses) {
  ValueArray a;
  for (const char* s : statuses) {
    ValueObject o;
    o.emplace_back("point", "p");
    o.emplace_back("status", s);
    a.emplace_back(std::move(o));
  }
  return a;
}

TEST(DevicesApi, OwnsProfilesAndDevicesPaths) {
  EXPECT_TRUE(is_devices_path("/api/v1/profiles"));
  EXPECT_TRUE(is_devices_path("/api/v1/profiles/boiler"));
  EXPECT_TRUE(is_devices_path("/api/v1/devices/b1/twin"));
  EXPECT_FALSE(is_devices_path("/api/v1/devicesx"));
  EXPECT_FALSE(is_devices_path("/api/v1/ingest"));
  EXPECT_FALSE(is_devices_path("/api/v1/rules"));
}

TEST(DevicesApi, DesiredStatusFollowsTheWorstResult) {
  EXPECT_EQ(desired_status(results({"applied", "applied"}), true), 200);
  EXPECT_EQ(desired_status(results({"applied", "queued"}), true), 202);
  EXPECT_EQ(desired_status(results({"superseded"}), true), 202);
  EXPECT_EQ(desired_status(results({"queued", "failed"}), true), 502);
  EXPECT_EQ(desired_status(results({"applied", "timeout"}), true), 504);
  EXPECT_EQ(desired_status(results({"expired"}), true), 504);
  EXPECT_EQ(desired_status(results({"sent"}), true), 504);   // no answer within `wait`
  EXPECT_EQ(desired_status(results({"sent"}), false), 202);  // wait 0: not waited for
  EXPECT_EQ(desired_status(results({"failed", "timeout"}), true), 502);
}

}  // namespace
}  // namespace verge::api
