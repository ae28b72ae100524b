// Hub internals shared by hub.cc (life cycle, operations) and hub_messages.cc (what nodes send).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sync/hub.h"

namespace verge::sync {

// One thread for the hub's slow control-plane work (enrolment signs a certificate and writes the
// registry with fsync), so broker threads only queue it.
class HubWorker {
 public:
  HubWorker();
  ~HubWorker();  // runs what is queued, then joins
  void post(std::function<void()> fn);
  // Blocks until everything posted before has run.
  void drain();

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  size_t posted_ = 0, done_ = 0;
  std::condition_variable done_cv_;
  std::thread thread_;
};

struct Hub::Impl {
  HubOptions options;
  std::unique_ptr<CertificateAuthority> ca;
  mqtt::Broker* broker = nullptr;
  std::vector<uint64_t> subscriptions;
  // Enrolment secrets seen at CONNECT, by node id: the enrolment request is matched to them.
  mutable std::mutex enrol_mu;
  mutable std::map<std::string, std::string, std::less<>> enrol_secrets;
  std::unique_ptr<HubWorker> worker;
  // Reading a node's effective document and publishing it is one step, so two changes racing
  // from different HTTP loops cannot leave an older version retained.
  std::mutex publish_mu;
  std::thread ticker;  // marks silent nodes offline
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool stopping = false;

  // hub_messages.cc
  void on_enroll(Hub& hub, std::string_view node, std::string_view payload);
  void on_status(Hub& hub, std::string_view node, std::string_view payload);
  void on_devices(Hub& hub, std::string_view node, std::string_view payload);
  void on_report(Hub& hub, std::string_view node, std::string_view payload);
  void on_data(Hub& hub, std::string_view node, std::string_view stream, std::string_view payload);
  void publish_desired(Hub& hub, std::string_view node);
};

// "verge/up/<node>/<rest>" -> node and rest; false when the topic is not of that shape.
bool split_up_topic(std::string_view topic, std::string_view& node, std::string_view& rest);

}  // namespace verge::sync
