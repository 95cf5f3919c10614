import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type InstanceList, type NacosServer, startNacosServer, until } from './nacos-harness.js';

/** A v1 client's push receiver: a UDP socket on 127.0.0.1 that queues what arrives. */
class PushReceiver {
  readonly socket: Socket = createSocket('udp4');
  private readonly queue: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  private waiter: (() => void) | null = null;

  async bind(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind({ port: 0, address: '127.0.0.1' }, resolve));
    this.socket.on('message', (msg, rinfo) => {
      this.queue.push({ msg, rinfo });
      this.waiter?.();
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** The next datagram, or null when none arrives within the time. */
  async next(timeoutMs: number): Promise<{ msg: Buffer; rinfo: RemoteInfo } | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift() ?? null;
  }

  ack(lastRefTime: number, to: RemoteInfo): void {
    // Exactly what the Node client answers.
    this.socket.send(JSON.stringify({ type: 'push-ack', lastRefTime, data: '' }), to.port, to.address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

interface PushPacket {
  type: string;
  data: string;
  lastRefTime: number;
}

function decode(msg: Buffer): { packet: PushPacket; gzipped: boolean } {
  const gzipped = msg[0] === 0x1f && msg[1] === 0x8b;
  const packet = JSON.parse((gzipped ? gunzipSync(msg) : msg).toString('utf8')) as PushPacket;
  return { packet, gzipped };
}

const ACK_TIMEOUT_MS = 800;
const SUBSCRIBER_TTL_MS = 3000;
const SVC = 'DEFAULT_GROUP@@pushed';

describe('Nacos v1 UDP push', () => {
  let n: NacosServer;
  let rx: PushReceiver;
  before(async () => {
    n = await startNacosServer({
      push: { ackTimeoutMs: ACK_TIMEOUT_MS, subscriberTtlMs: SUBSCRIBER_TTL_MS, subscribersMax: 3, pushDelayMs: 10 },
    });
    rx = new PushReceiver();
    await rx.bind();
  });
  after(async () => {
    await rx.close();
    await n.stop();
  });

  /** The subscribe poll the Node client sends (clusters DEFAULT, its udpPort and clientIP). */
  const poll = (udpPort: number, clientIP = '127.0.0.1') =>
    n.node('GET', '/nacos/v1/ns/instance/list', {
      namespaceId: 'public',
      serviceName: SVC,
      clusters: 'DEFAULT',
      udpPort,
      clientIP,
      healthyOnly: 'false',
    });
  const subscribers = async () =>
    (await n.node('GET', '/nacos/v1/ns/operator/metrics')).json<{ subscribeCount: number }>().subscribeCount;
  const register = (ip: string, metadata: Record<string, string> = {}) =>
    n.node('POST', '/nacos/v1/ns/instance', { serviceName: SVC, ip, port: 80, metadata: JSON.stringify(metadata) });

  it('pushes a change to a subscriber, which acks it; an acked push is not sent again', async () => {
    assert.equal((await register('10.3.0.1')).text, 'ok');
    const first = await poll(rx.port);
    assert.equal(first.status, 200);
    assert.equal(first.json<InstanceList>().cacheMillis, 10_000);
    assert.equal(await subscribers(), 1);

    const patch = await n.node('PATCH', '/nacos/v1/ns/instance', {
      serviceName: SVC,
      ip: '10.3.0.1',
      port: 80,
      weight: 2,
    });
    assert.equal(patch.text, 'ok');
    const got = await rx.next(5000);
    assert.ok(got, 'a push arrives');
    const { packet, gzipped } = decode(got.msg);
    assert.equal(gzipped, false, 'pushes under 1 KiB are plain JSON');
    assert.ok(got.msg.length < 1024);
    assert.deepEqual(Object.keys(packet), ['type', 'data', 'lastRefTime']);
    assert.equal(packet.type, 'dom');
    assert.equal(typeof packet.lastRefTime, 'number');
    assert.equal(typeof packet.data, 'string', 'data is the instance/list JSON as a string');
    const list = JSON.parse(packet.data) as InstanceList;
    assert.equal(list.name, SVC);
    assert.equal(list.clusters, 'DEFAULT', 'the clusters the subscriber asked for');
    assert.equal(list.cacheMillis, 10_000);
    assert.deepEqual(
      list.hosts.map((h) => [h.ip, h.weight]),
      [['10.3.0.1', 2]],
    );
    assert.equal(got.rinfo.address, '127.0.0.1');
    rx.ack(packet.lastRefTime, got.rinfo);
    assert.equal(await rx.next(2 * ACK_TIMEOUT_MS), null, 'no retry once acked');
  });

  it('sends a push once more when no ack comes, then gives up', async () => {
    await poll(rx.port);
    assert.equal((await register('10.3.0.2')).text, 'ok');
    const first = await rx.next(5000);
    assert.ok(first, 'a push arrives');
    const list = JSON.parse(decode(first.msg).packet.data) as InstanceList;
    assert.deepEqual(list.hosts.map((h) => h.ip).sort(), ['10.3.0.1', '10.3.0.2']);
    // Not acked: the same datagram again after the ack timeout ...
    const retry = await rx.next(5000);
    assert.ok(retry, 'the push is retried');
    assert.deepEqual(retry.msg, first.msg);
    // ... and no more.
    assert.equal(await rx.next(2 * ACK_TIMEOUT_MS), null, 'one retry only');
  });

  it('gzips pushes of 1 KiB or more', async () => {
    await poll(rx.port);
    const metadata = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`key-${i}`, `value-${i}-${'x'.repeat(40)}`]),
    );
    assert.equal((await register('10.3.0.3', metadata)).text, 'ok');
    const got = await rx.next(5000);
    assert.ok(got, 'a push arrives');
    const { packet, gzipped } = decode(got.msg);
    assert.equal(gzipped, true);
    const list = JSON.parse(packet.data) as InstanceList;
    assert.deepEqual(list.hosts.find((h) => h.ip === '10.3.0.3')?.metadata, metadata);
    rx.ack(packet.lastRefTime, got.rinfo);
    assert.equal(await rx.next(2 * ACK_TIMEOUT_MS), null);
  });

  it('forgets a subscriber that stops polling', async () => {
    await poll(rx.port);
    assert.equal(await subscribers(), 1);
    await until(async () => (await subscribers()) === 0, 10_000, 'the subscriber expires');
    assert.equal((await register('10.3.0.4')).text, 'ok');
    assert.equal(await rx.next(1000), null, 'nothing is pushed to an expired subscriber');
  });

  it('pushes only to addresses the client owns, and to a bounded number of subscribers', async () => {
    // A poll from 127.0.0.1 announcing someone else's address is served, but not subscribed.
    const foreign = await poll(rx.port, '192.0.2.1');
    assert.equal(foreign.status, 200);
    assert.equal(await subscribers(), 0);
    // At most 3 (this server's bound); the others keep polling.
    for (const port of [rx.port, 40_001, 40_002, 40_003, 40_004]) assert.equal((await poll(port)).status, 200);
    assert.equal(await subscribers(), 3);
  });
});
