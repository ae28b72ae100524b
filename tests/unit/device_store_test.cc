// The device layer's command table: a call's commands are stored all or none, and pruning keeps
// a week and at most the newest N finished commands per device.
#include <gtest/gtest.h>

#include <filesystem>

#include "devices/device_store.h"

namespace verge::devices {
namespace {

class DeviceManagerStoreTest : public ::testing::Test {
 protected:
  DeviceManagerStoreTest() {
    char tmpl[] = "/tmp/verge_device_store_XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto s = DeviceStore::open(dir_ + "/meta.db");
    EXPECT_TRUE(s) << s.error().message;
    if (s) store_ = std::move(*s);
  }
  ~DeviceManagerStoreTest() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static std::shared_ptr<Command> command(int64_t id, std::string device, CommandStatus status,
                                          int64_t updated_ms) {
    auto c = std::make_shared<Command>();
    c->id = id;
    c->device = std::move(device);
    c->point = "p";
    c->value = Value(1);
    c->status = status;
    c->created_ms = c->updated_ms = updated_ms;
    return c;
  }
  std::string dir_;
  std::unique_ptr<DeviceStore> store_;
};

TEST_F(DeviceManagerStoreTest, ACallsCommandsAreStoredAllOrNone) {
  ASSERT_TRUE(store_->insert_command(*command(2, "d", CommandStatus::Queued, 1)));
  std::vector<std::shared_ptr<Command>> cmds = {command(1, "d", CommandStatus::Queued, 1),
                                                command(2, "d", CommandStatus::Queued, 1)};
  EXPECT_FALSE(store_->insert_commands(cmds));  // id 2 exists: the whole call fails
  auto open = store_->open_commands();
  ASSERT_TRUE(open);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().id, 2);
  cmds = {command(3, "d", CommandStatus::Queued, 1), command(4, "d", CommandStatus::Queued, 1)};
  EXPECT_TRUE(store_->insert_commands(cmds));
  EXPECT_EQ(store_->open_commands()->size(), 3u);
}

TEST_F(DeviceManagerStoreTest, UnsyncedCommandsAreStoredAllOrNoneAndSurviveAReopen) {
  std::vector<std::shared_ptr<Command>> cmds = {command(5, "d", CommandStatus::Queued, 1),
                                                command(6, "d", CommandStatus::Queued, 1)};
  ASSERT_TRUE(store_->insert_commands(cmds, false));
  cmds = {command(7, "d", CommandStatus::Queued, 1), command(6, "d", CommandStatus::Queued, 1)};
  EXPECT_FALSE(store_->insert_commands(cmds, false));  // id 6 exists: none of this call
  store_.reset();
  auto reopened = DeviceStore::open(dir_ + "/meta.db");
  ASSERT_TRUE(reopened) << reopened.error().message;
  auto open = (*reopened)->open_commands();
  ASSERT_TRUE(open);
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ(open->front().id, 5);
  EXPECT_EQ(open->back().id, 6);
}

TEST_F(DeviceManagerStoreTest, PruningKeepsAWeekAndTheNewestPerDevice) {
  const int64_t now = 10'000'000'000;
  int64_t id = 1;
  ASSERT_TRUE(store_->insert_command(*command(id++, "a", CommandStatus::Applied, 1)));  // old
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->insert_command(*command(id++, "a", CommandStatus::Applied, now)));
    ASSERT_TRUE(store_->insert_command(*command(id++, "b", CommandStatus::Failed, now)));
  }
  ASSERT_TRUE(store_->insert_command(*command(id++, "a", CommandStatus::Queued, 1)));  // open
  ASSERT_TRUE(store_->prune_commands(now - 1000, 3));
  auto a = store_->recent_commands("a", 100);
  auto b = store_->recent_commands("b", 100);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 4u);  // three finished and the queued one
  EXPECT_EQ(b->size(), 3u);
  EXPECT_EQ(b->back().id, 7);  // the newest three of b: 7, 9, 11
}

}  // namespace
}  // namespace verge::devices
