// mqtt::Client against the real broker in-process (plain TCP; TLS is in tls_client_test.cc).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "mqtt_client_test_util.h"
#include "net/socket.h"

namespace verge::test {
namespace {

using MqttClient = BrokerFixture;

TEST_F(MqttClient, PublishesAndReceivesAtQos0And1) {
  start_broker();
  ClientEvents a;
  mqtt::Client* ca = add_client(options("a"), a, {"t/#"});
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  // Our own messages come back: the SUBSCRIBE went first on this connection.
  run_on(loop(), [&] {
    ca->publish("t/1", "one", 1, false, a.done());
    ca->publish("t/0", "zero", 0, false, a.done());
  });
  ASSERT_TRUE(a.wait([&] { return a.messages.size() == 2 && a.results.size() == 2; }));
  {
    std::lock_guard lock(a.mu);
    EXPECT_TRUE(a.has_message("t/1", "one"));
    EXPECT_TRUE(a.has_message("t/0", "zero"));
    for (const auto& r : a.results) {
      EXPECT_TRUE(r.ok()) << r.error << " " << int(r.reason);
      EXPECT_EQ(r.reason, 0);
    }
  }
  // Another client reaches the first one.
  ClientEvents b;
  mqtt::Client* cb = add_client(options("b"), b);
  ASSERT_TRUE(b.wait([&] { return b.connected == 1; }));
  run_on(loop(), [&] { cb->publish("t/from-b", "hi", 1, false, b.done()); });
  ASSERT_TRUE(b.wait([&] { return b.results.size() == 1; }));
  {
    std::lock_guard lock(b.mu);
    EXPECT_TRUE(b.results[0].ok()) << b.results[0].error;
  }
  ASSERT_TRUE(a.wait([&] { return a.has_message("t/from-b", "hi"); }));
  run_on(loop(), [&] {
    EXPECT_TRUE(ca->connected());
    EXPECT_EQ(ca->pending(), 0u);
    EXPECT_EQ(ca->stats().connects, 1u);
    EXPECT_EQ(ca->stats().messages_sent, 2u);
    EXPECT_EQ(ca->stats().messages_received, 3u);
    EXPECT_GT(ca->stats().bytes_sent, 0u);
    EXPECT_GT(ca->stats().bytes_received, 0u);
  });
}

TEST_F(MqttClient, PublishDeniedByTheAclFails) {
  cfg.acl_file = file("acl.conf",
                      "allow publish any ok/#\n"
                      "allow subscribe any #\n");
  start_broker();
  ClientEvents a;
  mqtt::Client* c = add_client(options("a"), a);
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  run_on(loop(), [&] {
    c->publish("ok/x", "1", 1, false, a.done());
    c->publish("denied/x", "2", 1, false, a.done());
  });
  ASSERT_TRUE(a.wait([&] { return a.results.size() == 2; }));
  std::lock_guard lock(a.mu);
  EXPECT_TRUE(a.results[0].ok());
  EXPECT_FALSE(a.results[1].ok());
  EXPECT_GE(a.results[1].reason, 0x80);
  EXPECT_TRUE(a.results[1].error.empty());  // delivered, refused: the reason says why
}

TEST_F(MqttClient, AtMostMaxInflightAreOutstanding) {
  start_broker();
  ClientEvents a;
  auto o = options("a");
  o.max_inflight = 2;
  mqtt::Client* c = add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  size_t pending_after = 0;
  size_t queued_bytes = 0;
  run_on(loop(), [&] {
    for (int i = 0; i < 10; ++i) c->publish("q/" + std::to_string(i), "x", 1, false, a.done());
    pending_after = c->pending();
    queued_bytes = c->queued_bytes();
  });
  EXPECT_EQ(pending_after, 10u);
  // Only two PUBLISH packets went to the socket queue; the rest wait for PUBACKs.
  EXPECT_EQ(queued_bytes, 2 * 11u);  // 2 + 2 + "q/N" + packet id + no properties + "x"
  ASSERT_TRUE(a.wait([&] { return a.results.size() == 10; }));
  {
    std::lock_guard lock(a.mu);
    for (const auto& r : a.results) EXPECT_TRUE(r.ok()) << r.error;
  }
  run_on(loop(), [&] { EXPECT_EQ(c->pending(), 0u); });
}

TEST_F(MqttClient, PublishWhileDownFailsAndDoneNeverRunsInsidePublish) {
  start_broker();
  ClientEvents a;
  auto o = options("a");
  o.port = 1;  // nothing listens there
  o.reconnect = false;
  mqtt::Client* c = add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return !a.disconnects.empty(); }));
  bool inside = false;
  std::vector<bool> ran_inside;
  run_on(loop(), [&] {
    auto done = [&](const mqtt::PublishResult& r) {
      ran_inside.push_back(inside);
      a.note([&] { a.results.push_back(r); });
    };
    inside = true;
    c->publish("t", "x", 1, false, done);
    c->publish("t", "x", 0, false, done);
    inside = false;
  });
  ASSERT_TRUE(a.wait([&] { return a.results.size() == 2; }));
  std::lock_guard lock(a.mu);
  EXPECT_EQ(a.results[0].error, "not connected");
  EXPECT_EQ(a.results[1].error, "not connected");
  EXPECT_EQ(ran_inside, (std::vector<bool>{false, false}));
  EXPECT_NE(a.disconnects[0].find("connect"), std::string::npos) << a.disconnects[0];
  EXPECT_EQ(a.connected, 0);
}

TEST_F(MqttClient, NoConnackWithinTheConnectTimeout) {
  start_broker();
  // A socket that listens but never answers: TCP connects, the CONNACK never comes.
  auto silent = net::listen_tcp(ListenAddress{"127.0.0.1", 0});
  ASSERT_TRUE(silent) << silent.error().message;
  ClientEvents a;
  auto o = options("a");
  o.port = silent->address.port;
  o.connect_timeout_ms = 200;
  o.reconnect = false;
  add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return !a.disconnects.empty(); }));
  {
    std::lock_guard lock(a.mu);
    EXPECT_EQ(a.disconnects[0], "connect timeout after 200 ms");
  }
  close(silent->fd);
}

TEST_F(MqttClient, KeepsRetryingWithBackoffWhileRefused) {
  start_broker();
  auto spare = net::listen_tcp(ListenAddress{"127.0.0.1", 0});  // a port nobody listens on
  ASSERT_TRUE(spare);
  const uint16_t free_port = spare->address.port;
  close(spare->fd);
  ClientEvents a;
  auto o = options("a");
  o.port = free_port;
  mqtt::Client* c = add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return a.disconnects.size() >= 3; }));
  run_on(loop(), [&] {
    EXPECT_GE(c->stats().connect_failures, 3u);
    EXPECT_EQ(c->stats().connects, 0u);
    EXPECT_FALSE(c->connected());
  });
}

TEST_F(MqttClient, HookRefusalIsReportedAsNotAuthorized) {
  hooks.on_connect = [](const mqtt::ConnectCheck&) {
    return mqtt::ConnectDecision{mqtt::ConnectDecision::Verdict::Refuse, {}};
  };
  start_broker();
  ClientEvents a;
  auto o = options("refused");
  o.reconnect = false;
  add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return !a.disconnects.empty(); }));
  std::lock_guard lock(a.mu);
  EXPECT_EQ(a.connected, 0);
  EXPECT_NE(a.disconnects[0].find("not authorized"), std::string::npos) << a.disconnects[0];
  EXPECT_NE(a.disconnects[0].find("0x87"), std::string::npos) << a.disconnects[0];
}

TEST_F(MqttClient, DisconnectedUserReconnectsAndResubscribes) {
  hooks.on_connect = [](const mqtt::ConnectCheck& c) {
    return mqtt::ConnectDecision{mqtt::ConnectDecision::Verdict::Allow, std::string(c.client_id)};
  };
  start_broker();
  ClientEvents a;
  mqtt::Client* c = add_client(options("node-7"), a, {"down/node-7/#"});
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  broker_->disconnect_user("node-7");
  ASSERT_TRUE(a.wait([&] { return a.connected == 2; }));
  {
    std::lock_guard lock(a.mu);
    ASSERT_EQ(a.disconnects.size(), 1u);
    EXPECT_NE(a.disconnects[0].find("not authorized"), std::string::npos) << a.disconnects[0];
  }
  // The subscription came back with the new session (clean start): our own message arrives.
  run_on(loop(), [&] { c->publish("down/node-7/cmd", "again", 1, false, a.done()); });
  ASSERT_TRUE(a.wait([&] { return a.has_message("down/node-7/cmd", "again"); }));
  run_on(loop(), [&] {
    EXPECT_EQ(c->stats().connects, 2u);
    EXPECT_EQ(c->stats().disconnects, 1u);
  });
}

TEST_F(MqttClient, EveryPublishIsAnsweredWhenTheConnectionIsLost) {
  hooks.on_connect = [](const mqtt::ConnectCheck& c) {
    return mqtt::ConnectDecision{mqtt::ConnectDecision::Verdict::Allow, std::string(c.client_id)};
  };
  start_broker();
  ClientEvents a;
  auto o = options("n");
  o.reconnect = false;
  mqtt::Client* c = add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  // Queue the publishes and drop the session in the same loop turn: nothing was answered yet.
  run_on(loop(), [&] {
    for (int i = 0; i < 3; ++i) c->publish("x", "y", 1, false, a.done());
  });
  broker_->disconnect_user("n");
  ASSERT_TRUE(a.wait([&] { return a.results.size() == 3 && !a.disconnects.empty(); }));
  run_on(loop(), [&] {
    EXPECT_FALSE(c->connected());
    EXPECT_EQ(c->pending(), 0u);
  });
}

TEST_F(MqttClient, KeepAlivePingsHoldAnIdleConnection) {
  start_broker();
  ClientEvents a;
  auto o = options("idle");
  o.keep_alive_s = 1;  // the broker closes after 1.5 s without traffic
  mqtt::Client* c = add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  uint64_t sent_at_connect = 0;
  run_on(loop(), [&] { sent_at_connect = c->stats().bytes_sent; });
  // Nothing may go wrong for 2.5 s (the wait ends early, and fails, on a disconnect).
  EXPECT_FALSE(a.wait([&] { return !a.disconnects.empty(); }, 2500));
  run_on(loop(), [&] {
    EXPECT_TRUE(c->connected());
    EXPECT_EQ(c->stats().disconnects, 0u);
    EXPECT_GE(c->stats().bytes_sent, sent_at_connect + 2 * 2);  // PINGREQs (2 bytes each)
  });
}

TEST_F(MqttClient, StopSendsDisconnectSoNoWillIsPublished) {
  start_broker();
  ClientEvents watcher;
  mqtt::Client* w = add_client(options("watcher"), watcher, {"will/#"});
  ASSERT_TRUE(watcher.wait([&] { return watcher.connected == 1; }));
  ClientEvents a;
  auto o = options("with-will");
  o.will_topic = "will/a";
  o.will_payload = "gone";
  mqtt::Client* c = add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
  run_on(loop(), [&] { c->stop(); });
  // A marker from the watcher itself, after the stop: when it is back, a will would have been too.
  run_on(loop(), [&] { w->publish("will/marker", "m", 1, false); });
  ASSERT_TRUE(watcher.wait([&] { return watcher.has_message("will/marker", "m"); }));
  std::lock_guard lock(watcher.mu);
  EXPECT_FALSE(watcher.has_message("will/a", "gone"));
  run_on(loop(), [&] { EXPECT_FALSE(c->connected()); });
}

// Owners should defer deleting a client to the loop's next iteration, but one that deletes it
// inside a handler must not crash either.
TEST_F(MqttClient, MayBeDestroyedInsideItsHandlers) {
  start_broker();
  ClientEvents a, b;
  std::unique_ptr<mqtt::Client> first, second;
  run_on(loop(), [&] {
    mqtt::ClientHandlers h = a.handlers();
    h.on_connected = [&](const mqtt::ConnackInfo&) { first->publish("self/x", "bye", 1, false); };
    h.on_message = [&, note = h.on_message](std::string_view t, std::string_view p, bool r) {
      note(t, p, r);
      first.reset();  // last statement: this closure dies with the client
    };
    first = std::make_unique<mqtt::Client>(loop(), options("first"), h);
    first->subscribe("self/#", 1);
    first->start();

    auto o = options("second");
    o.port = 1;  // refused
    mqtt::ClientHandlers h2 = b.handlers();
    h2.on_disconnected = [&, note = h2.on_disconnected](std::string_view why) {
      note(why);
      second.reset();
    };
    second = std::make_unique<mqtt::Client>(loop(), o, h2);
    second->start();
  });
  ASSERT_TRUE(a.wait([&] { return a.messages.size() == 1; }));
  ASSERT_TRUE(b.wait([&] { return b.disconnects.size() == 1; }));
  run_on(loop(), [&] {
    EXPECT_EQ(first, nullptr);
    EXPECT_EQ(second, nullptr);
  });
  // The loop still works: another client connects.
  ClientEvents c;
  add_client(options("third"), c);
  ASSERT_TRUE(c.wait([&] { return c.connected == 1; }));
}

// Names go through getaddrinfo on a helper thread; a name that cannot resolve fails the attempt
// (or the connect timeout does, if the lookup is slow here).
TEST_F(MqttClient, UnresolvableNameFailsTheAttempt) {
  start_broker();
  ClientEvents a;
  auto o = options("a");
  o.host = "no-such-host.invalid";
  o.reconnect = false;
  o.connect_timeout_ms = 3000;
  add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return !a.disconnects.empty(); }));
  std::lock_guard lock(a.mu);
  const std::string& why = a.disconnects[0];
  EXPECT_TRUE(why.find("cannot resolve host 'no-such-host.invalid'") != std::string::npos ||
              why.find("connect timeout") != std::string::npos)
      << why;
}

TEST_F(MqttClient, DestroyedDuringALookupIsNeverCalledBack) {
  start_broker();
  ClientEvents a;
  run_on(loop(), [&] {
    auto o = options("a");
    o.host = "no-such-host.invalid";
    mqtt::Client c(loop(), o, a.handlers());
    c.start();
  });  // destroyed while its resolver thread runs
  // The lookup's answer, when it comes, finds no client: nothing is reported.
  EXPECT_FALSE(a.wait([&] { return !a.disconnects.empty(); }, 300));
}

TEST_F(MqttClient, ConnectsToLocalhost) {
  start_broker();
  ClientEvents a;
  auto o = options("named");
  o.host = "localhost";
  add_client(o, a);
  ASSERT_TRUE(a.wait([&] { return a.connected == 1; }));
}

}  // namespace
}  // namespace verge::test
