#include "net/out_queue.h"

#include <gtest/gtest.h>

namespace verge::net {
namespace {

std::string drain(OutQueue& q, size_t step) {
  std::string out;
  while (!q.empty()) {
    iovec iov[8];
    const int n = q.gather(iov, 8);
    size_t take = 0;
    for (int i = 0; i < n && take < step; ++i) {
      const size_t part = std::min(step - take, iov[i].iov_len);
      out.append(static_cast<const char*>(iov[i].iov_base), part);
      take += part;
    }
    q.consume(take);
  }
  return out;
}

TEST(OutQueue, KeepsOrderAcrossCopiedAndSharedSegments) {
  OutQueue q;
  const std::string big(OutQueue::kShareThreshold + 10, 'x');
  auto shared = SharedBytes::copy_of(big);
  q.append("head1");
  q.append_shared(shared, shared.view());
  q.append("tail");
  q.append_shared(SharedBytes::copy_of("small"), "mall");  // below threshold: copied
  EXPECT_EQ(q.size(), 5 + big.size() + 4 + 4);
  EXPECT_EQ(drain(q, 7), "head1" + big + "tail" + "mall");
  EXPECT_TRUE(q.empty());
}

TEST(OutQueue, PartialWritesResumeMidSegment) {
  for (size_t step : {1u, 3u, 100u, 5000u}) {
    OutQueue q;
    std::string expected;
    for (int i = 0; i < 200; ++i) {
      const std::string s = "packet-" + std::to_string(i) + ";";
      q.append(s);
      expected += s;
    }
    EXPECT_EQ(drain(q, step), expected) << "step " << step;
  }
}

TEST(OutQueue, SharedBytesOutliveTheirCreator) {
  OutQueue q;
  {
    auto b = SharedBytes::copy_of(std::string(2048, 'y'));
    q.append_shared(b, b.view().substr(10));
  }
  EXPECT_EQ(drain(q, 4096), std::string(2038, 'y'));
}

}  // namespace
}  // namespace verge::net
