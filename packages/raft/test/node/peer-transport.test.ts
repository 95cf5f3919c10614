import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { Message, NodeId } from '../../src/core/types.js';
import { encodeFrame } from '../../src/node/codec.js';
import { signUpgrade } from '../../src/node/peer-auth.js';
import { PeerTransport, type PeerTransportOptions } from '../../src/node/peer-transport.js';
import { captureLogger, loopbackServer, sleep, waitFor } from './helpers.js';

const SECRET = 'transport-test-secret-0123456789';

interface Received {
  from: NodeId;
  messages: Message[];
}

function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, readSeq: 0 };
}

describe('PeerTransport', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function startNode(
    id: NodeId,
    overrides: Partial<PeerTransportOptions> = {},
    port = 0,
  ): Promise<{
    transport: PeerTransport;
    address: string;
    received: Received[];
    lines: Record<string, unknown>[];
    stop: () => Promise<void>;
  }> {
    const { server, address, close } = await loopbackServer(port);
    const { logger, lines } = captureLogger('info');
    const received: Received[] = [];
    const transport = new PeerTransport({
      id,
      clusterSecret: SECRET,
      advertiseAddress: address,
      isMember: () => true,
      onMessages: (from, messages) => received.push({ from, messages }),
      maxFrameBytes: 64 * 1024,
      reconnectMaxMs: 100,
      logger,
      ...overrides,
    });
    transport.attach(server);
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      transport.close();
      await close();
    };
    cleanups.push(stop);
    return { transport, address, received, lines, stop };
  }

  it('delivers messages and batches one turn of sends into one frame', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    a.transport.setPeer('b', b.address);
    a.transport.send([heartbeat('a', 'b', 1)]);
    await waitFor('first message', () => b.received.length === 1);
    assert.deepStrictEqual(b.received[0], { from: 'a', messages: [heartbeat('a', 'b', 1)] });

    const framesBefore = b.transport.stats().framesReceived;
    const batch = [2, 3, 4, 5, 6].map((c) => heartbeat('a', 'b', c));
    for (const m of batch) a.transport.send([m]);
    await waitFor('the batch', () => b.received.length === 2);
    assert.deepStrictEqual(b.received[1]!.messages, batch);
    assert.equal(b.transport.stats().framesReceived, framesBefore + 1);
    assert.equal(a.transport.stats().messagesSent, 6);
    assert.equal(a.transport.stats().peers['b']!.connected, true);
    assert.equal(b.transport.stats().peers['a'], undefined, 'b never dialed a');
  });

  it('splits a batch that exceeds the frame bound and keeps the order', async () => {
    const a = await startNode('a', { maxFrameBytes: 4096 });
    const b = await startNode('b', { maxFrameBytes: 4096 });
    a.transport.setPeer('b', b.address);
    const big = (i: number): Message => ({
      type: 'append',
      from: 'a',
      to: 'b',
      term: 1,
      prevIndex: i,
      prevTerm: 1,
      commit: 0,
      entries: [{ index: i + 1, term: 1, type: 'normal', data: new Uint8Array(1500).fill(i) }],
    });
    const batch = [0, 1, 2, 3, 4].map(big);
    a.transport.send(batch);
    await waitFor('all five', () => b.received.flatMap((r) => r.messages).length === 5);
    assert.deepStrictEqual(
      b.received.flatMap((r) => r.messages),
      batch,
    );
    assert.ok(b.received.length >= 2, 'more than one frame');
  });

  it('refuses a wrong secret with 401 and a non-member with 403, and logs both', async () => {
    const b = await startNode('b', { isMember: (id) => id !== 'intruder' });
    const wrong = await startNode('c', { clusterSecret: 'not-the-cluster-secret-at-all!!' });
    wrong.transport.setPeer('b', b.address);
    wrong.transport.send([heartbeat('c', 'b', 1)]);
    const outsider = await startNode('intruder');
    outsider.transport.setPeer('b', b.address);
    outsider.transport.send([heartbeat('intruder', 'b', 1)]);
    await waitFor('both refusals', () => b.transport.stats().upgradesRefused >= 2);
    await sleep(50);
    assert.equal(b.received.length, 0);
    const refusals = b.lines.filter((l) => l['msg'] === 'raft peer link refused');
    assert.ok(refusals.some((l) => l['status'] === 401 && l['peer'] === 'c'));
    assert.ok(refusals.some((l) => l['status'] === 403 && l['peer'] === 'intruder'));

    // The statuses as a client sees them.
    const statusOf = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://${b.address}/raft/peer`, { headers });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
        ws.on('error', () => {});
      });
    const secret = new TextEncoder().encode(SECRET);
    assert.equal(await statusOf(signUpgrade(new TextEncoder().encode('x'.repeat(32)), 'c', 'b', '')), 401);
    assert.equal(await statusOf(signUpgrade(secret, 'intruder', 'b', '')), 403);
    assert.equal(await statusOf(signUpgrade(secret, 'c', 'someone-else', '')), 403);
    assert.equal(await statusOf(signUpgrade(secret, 'c', 'b', '', Date.now() - 3_600_000)), 401);
    assert.equal(await statusOf({}), 401);
    const fresh = signUpgrade(secret, 'c', 'b', '');
    assert.equal(await statusOf(fresh), 101);
    assert.equal(await statusOf(fresh), 401, 'a replayed handshake is refused');
  });

  it('drops messages whose from differs from the authenticated peer, and closes on garbage', async () => {
    const b = await startNode('b');
    const secret = new TextEncoder().encode(SECRET);
    const ws = new WebSocket(`ws://${b.address}/raft/peer`, { headers: signUpgrade(secret, 'a', 'b', '') });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(encodeFrame([heartbeat('mallory', 'b', 1), heartbeat('a', 'b', 2), heartbeat('a', 'not-b', 3)]));
    await waitFor('the honest message', () => b.received.length === 1);
    assert.deepStrictEqual(b.received[0], { from: 'a', messages: [heartbeat('a', 'b', 2)] });
    assert.equal(b.transport.stats().messagesDropped, 2);
    assert.ok(
      b.lines.some((l) => l['msg'] === 'raft message with a foreign from/to dropped' && l['from'] === 'mallory'),
    );

    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Uint8Array.of(1, 5, 0xff, 0xff));
    assert.equal(await closed, 1007);
    assert.equal(b.transport.stats().framesDropped, 1);
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    a.transport.setPeer('b', b.address);
    a.transport.send([heartbeat('a', 'b', 1)]);
    await waitFor('delivery before the restart', () => b.received.length === 1);
    const port = Number(b.address.split(':')[1]);
    await b.stop();
    await waitFor('a notices the link is down', () => a.transport.stats().peers['b']!.connected === false);

    // Sends while b is down are lost (Raft resends); they must not pile up without bound either.
    for (let i = 0; i < 20; i++) a.transport.send([heartbeat('a', 'b', 100 + i)]);
    await sleep(50);
    const b2 = await startNode('b', {}, port);
    let commit = 200;
    await waitFor(
      'delivery after the restart',
      () => {
        a.transport.send([heartbeat('a', 'b', commit++)]);
        return b2.received.length > 0;
      },
      5_000,
      20,
    );
    assert.ok(a.transport.stats().linksOpened >= 2);
    assert.ok(a.transport.stats().messagesDropped > 0);
  });

  it('bounds the queue of an unreachable peer and counts what it drops', async () => {
    const a = await startNode('a', { maxQueuedMessages: 8 });
    // Nothing listens on port 1 of loopback: the dial fails and the queue must stay bounded.
    a.transport.setPeer('b', '127.0.0.1:1');
    for (let i = 0; i < 100; i++) a.transport.send([heartbeat('a', 'b', i)]);
    assert.ok(a.transport.stats().peers['b']!.queued <= 8);
    assert.ok(a.transport.stats().messagesDropped >= 92);
    a.transport.send([heartbeat('a', 'nobody', 1)]);
    assert.ok(a.transport.stats().messagesDropped >= 93);
  });

  it('leaves other upgrade paths to other handlers', async () => {
    const { server, address, close } = await loopbackServer();
    cleanups.push(close);
    const { logger } = captureLogger('silent');
    const transport = new PeerTransport({
      id: 'b',
      clusterSecret: SECRET,
      isMember: () => true,
      onMessages: () => {},
      maxFrameBytes: 64 * 1024,
      reconnectMaxMs: 100,
      logger,
    });
    cleanups.push(() => transport.close());
    transport.attach(server);
    const other = new WebSocketServer({ noServer: true });
    cleanups.push(() => other.close());
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/watch') other.handleUpgrade(req, socket, head, (ws) => ws.send('hello'));
    });
    const ws = new WebSocket(`ws://${address}/watch`);
    const greeting = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(greeting, 'hello');
    assert.equal(transport.stats().upgradesRefused, 0);
  });

  it('accepts sockets upgraded elsewhere through acceptSocket, authenticating them', async () => {
    const { server, address, close } = await loopbackServer();
    cleanups.push(close);
    const received: Received[] = [];
    const { logger } = captureLogger('silent');
    const transport = new PeerTransport({
      id: 'b',
      clusterSecret: SECRET,
      isMember: () => true,
      onMessages: (from, messages) => received.push({ from, messages }),
      maxFrameBytes: 64 * 1024,
      reconnectMaxMs: 100,
      logger,
    });
    cleanups.push(() => transport.close());
    const framework = new WebSocketServer({ server, path: '/raft/peer' });
    cleanups.push(() => framework.close());
    framework.on('connection', (ws, req) => transport.acceptSocket(ws, req));

    const secret = new TextEncoder().encode(SECRET);
    const good = new WebSocket(`ws://${address}/raft/peer`, { headers: signUpgrade(secret, 'a', 'b', '') });
    await new Promise((resolve) => good.once('open', resolve));
    good.send(encodeFrame([heartbeat('a', 'b', 7)]));
    await waitFor('delivery', () => received.length === 1);
    good.close();

    const bad = new WebSocket(`ws://${address}/raft/peer`, { headers: signUpgrade(new Uint8Array(32), 'a', 'b', '') });
    const code = await new Promise<number>((resolve) => bad.once('close', (c) => resolve(c)));
    assert.equal(code, 1008);
  });
});
