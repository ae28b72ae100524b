// MQTT 5 features of verge edge through MQTT.js: topic aliases in both directions,
// subscription identifiers, shared subscriptions, request/response and MQTT over WebSocket.
// Usage: node test_v5.mjs <mqtt-port> <ws-port>   (exit code 0 = all passed)
import assert from 'node:assert/strict';
import mqtt from 'mqtt';

const [mqttPort, wsPort] = process.argv.slice(2).map(Number);
if (!mqttPort || !wsPort) {
  console.error('usage: node test_v5.mjs <mqtt-port> <ws-port>');
  process.exit(2);
}
const TIMEOUT = 10000;
const opened = [];

function withTimeout(promise, what, ms = TIMEOUT) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function connect(clientId, extra = {}, url = `mqtt://127.0.0.1:${mqttPort}`) {
  const client = mqtt.connect(url, {
    protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: TIMEOUT, ...extra,
  });
  opened.push(client);
  client.inbox = [];
  client.waiters = [];
  client.on('message', (topic, payload, packet) => {
    client.inbox.push({ topic, payload: payload.toString(), packet });
    for (const w of client.waiters.splice(0)) w();
  });
  client.connack = await withTimeout(new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  }), `CONNACK for ${clientId}`);
  return client;
}

// Waits until `n` messages are in the client's inbox and returns (and removes) them.
async function take(client, n, what) {
  await withTimeout(new Promise((resolve) => {
    const check = () => (client.inbox.length >= n ? resolve() : client.waiters.push(check));
    check();
  }), `${n} message(s): ${what}`);
  return client.inbox.splice(0, n);
}

const tests = {
  async topicAliasClientToBroker() {
    const sub = await connect('js-ta-sub');
    await sub.subscribeAsync('ta/in/#', { qos: 1 });
    const pub = await connect('js-ta-pub');
    const max = pub.connack.properties?.topicAliasMaximum;
    assert.ok(max >= 1, `broker announces a Topic Alias Maximum, got ${max}`);
    const sent = [];
    pub.on('packetsend', (p) => {
      if (p.cmd === 'publish') sent.push({ topic: p.topic.toString(), alias: p.properties?.topicAlias });
    });
    await pub.publishAsync('ta/in/long/topic/name', 'first', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('ta/in/other', 'third', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('', 'fourth', { qos: 1, properties: { topicAlias: 1 } });
    assert.deepEqual(sent[1], { topic: '', alias: 1 }, 'client sent an alias-only PUBLISH');
    const got = (await take(sub, 4, 'aliased publishes')).map((m) => [m.topic, m.payload]);
    assert.deepEqual(got, [
      ['ta/in/long/topic/name', 'first'], ['ta/in/long/topic/name', 'second'],
      ['ta/in/other', 'third'], ['ta/in/other', 'fourth'],
    ], 'aliases resolved (and re-mapped) by the broker');
  },

  async topicAliasBrokerToClient() {
    const sub = await connect('js-ta-recv', { properties: { topicAliasMaximum: 4 } });
    const received = [];
    sub.on('packetreceive', (p) => {
      if (p.cmd === 'publish') received.push({ topic: p.topic.toString(), alias: p.properties?.topicAlias });
    });
    await sub.subscribeAsync('ta/out/#', { qos: 1 });
    const pub = await connect('js-ta-send');
    for (const payload of ['a', 'b', 'c']) await pub.publishAsync('ta/out/x', payload, { qos: 1 });
    const got = await take(sub, 3, 'messages sent with aliases');
    assert.deepEqual(got.map((m) => [m.topic, m.payload]),
      [['ta/out/x', 'a'], ['ta/out/x', 'b'], ['ta/out/x', 'c']], 'topics restored from the alias');
    assert.ok(received[0].alias >= 1 && received[0].topic === 'ta/out/x',
      `first delivery sets up an alias: ${JSON.stringify(received[0])}`);
    assert.deepEqual(received[1], { topic: '', alias: received[0].alias },
      'later deliveries use the alias alone');
    // A client that does not announce a maximum gets no aliases.
    const plain = await connect('js-ta-none');
    const plainSeen = [];
    plain.on('packetreceive', (p) => { if (p.cmd === 'publish') plainSeen.push(p.properties?.topicAlias); });
    await plain.subscribeAsync('ta/out/#', { qos: 1 });
    await pub.publishAsync('ta/out/x', 'd', { qos: 1 });
    await take(plain, 1, 'message without alias');
    assert.deepEqual(plainSeen, [undefined], 'no alias for a client without Topic Alias Maximum');
  },

  async subscriptionIdentifiers() {
    const c = await connect('js-sid');
    await c.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 11 } });
    await c.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 300000 } });
    await c.publishAsync('sid/a', 'x', { qos: 1 });
    const [m] = await take(c, 1, 'message matching two subscriptions');
    const ids = [].concat(m.packet.properties?.subscriptionIdentifier ?? []).sort((a, b) => a - b);
    assert.deepEqual(ids, [11, 300000], 'both subscription identifiers');
  },

  async sharedSubscription() {
    const a = await connect('js-share-a');
    const b = await connect('js-share-b');
    await a.subscribeAsync('$share/js/work/#', { qos: 1 });
    await b.subscribeAsync('$share/js/work/#', { qos: 1 });
    const pub = await connect('js-share-pub');
    const n = 30;
    for (let i = 0; i < n; i++) await pub.publishAsync(`work/${i}`, String(i), { qos: 1 });
    await withTimeout(new Promise((resolve) => {
      const check = () => {
        if (a.inbox.length + b.inbox.length >= n) return resolve();
        a.waiters.push(check);
      };
      b.on('message', () => a.inbox.length + b.inbox.length >= n && resolve());
      check();
    }), 'all shared messages');
    const all = [...a.inbox, ...b.inbox].map((m) => Number(m.payload)).sort((x, y) => x - y);
    assert.deepEqual(all, [...Array(n).keys()], 'each message delivered once within the group');
    assert.ok(a.inbox.length > 0 && b.inbox.length > 0,
      `both members got some (a=${a.inbox.length}, b=${b.inbox.length})`);
  },

  async requestResponse() {
    const responder = await connect('js-responder');
    await responder.subscribeAsync('rpc/req', { qos: 1 });
    responder.on('message', (topic, payload, packet) => {
      const p = packet.properties ?? {};
      responder.publish(p.responseTopic, `echo:${payload}`, {
        qos: 1, properties: { correlationData: p.correlationData, userProperties: p.userProperties },
      });
    });
    const requester = await connect('js-requester');
    await requester.subscribeAsync('rpc/resp/js', { qos: 1 });
    const corr = Buffer.from([0, 1, 2, 0xff]);
    await requester.publishAsync('rpc/req', 'ping', {
      qos: 1,
      properties: { responseTopic: 'rpc/resp/js', correlationData: corr,
        userProperties: { trace: 'abc', tenant: 'north' } },
    });
    const [reply] = await take(requester, 1, 'response');
    assert.equal(reply.payload, 'echo:ping');
    assert.ok(Buffer.compare(reply.packet.properties.correlationData, corr) === 0,
      'correlation data round trip');
    assert.deepEqual({ ...reply.packet.properties.userProperties }, { trace: 'abc', tenant: 'north' },
      'user properties round trip');
  },

  async webSocket() {
    const tcp = await connect('js-tcp');
    await tcp.subscribeAsync('ws/js/#', { qos: 1 });
    const ws = await connect('js-ws', {}, `ws://127.0.0.1:${wsPort}/mqtt`);
    assert.equal(ws.connack.reasonCode ?? 0, 0, 'CONNACK over WebSocket');
    await ws.subscribeAsync('ws/js/#', { qos: 2 });
    await ws.publishAsync('ws/js/a', 'over-ws', { qos: 2 });
    const [mine] = await take(ws, 1, 'own message over ws');
    assert.equal(mine.payload, 'over-ws');
    const [fromWs] = await take(tcp, 1, 'ws -> tcp');
    assert.equal(fromWs.payload, 'over-ws');
    const big = 'z'.repeat(100000);
    await tcp.publishAsync('ws/js/big', big, { qos: 1 });
    const [bigMsg] = await take(ws, 1, 'large message over ws');
    assert.equal(bigMsg.payload.length, big.length, 'large payload intact');
    await take(tcp, 1, 'own big message');
  },
};

let failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
  await Promise.all(opened.splice(0).map((c) => c.endAsync().catch(() => {})));
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
