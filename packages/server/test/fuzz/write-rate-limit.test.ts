// Per-client write rate limiting: past --write-rate-max writes in a window, a client address gets
// 429 RATE_LIMITED with Retry-After on every surface that writes (native, Nacos, session sockets,
// a Nacos beat that re-registers), and the refused writes leave nothing; heartbeats and reads are
// never limited (a fleet behind one NAT address beats all the time); other addresses are not
// affected. 127.0.0.2 stands for a second client (Linux routes all of 127/8 to loopback).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sessionServerMessageSchema } from '../../src/protocol/index.js';
import {
  CrashGuard,
  type FuzzServer,
  type RawAnswer,
  type RawRequest,
  rawRequest,
  refusalLeavesStateAlone,
  startFuzzServer,
} from './fuzz-kit.js';
import { FuzzSocket } from './socket-kit.js';

const RATE_MAX = 5;
const OTHER_CLIENT = '127.0.0.2';

const register = (port: number, ip = '10.6.0.1'): RawRequest => ({
  method: 'POST',
  path: '/v1/instances',
  headers: [['Content-Type', 'application/json']],
  body: JSON.stringify({ service: 'rl', ip, port, ephemeral: false }),
});

describe('write rate limit per client address', () => {
  let s: FuzzServer;
  let guard: CrashGuard;

  before(async () => {
    guard = new CrashGuard();
    s = await startFuzzServer(['--write-rate-max', String(RATE_MAX), '--write-rate-window-ms', '60000']);
  });

  after(async () => {
    await s?.stop();
    guard?.dispose();
  });

  function assertLimited(a: RawAnswer | null, what: string): void {
    assert.equal(a?.status, 429, `${what}: ${a?.status} ${a?.body}`);
    const retryAfterS = Number(a?.headers['retry-after']);
    assert.ok(retryAfterS >= 1 && retryAfterS <= 60, `${what}: Retry-After ${a?.headers['retry-after']}`);
    assert.match(a?.body ?? '', /write-rate-max/);
  }

  it('refuses writes past the rate with 429 and Retry-After, and keeps nothing of them', async () => {
    for (let port = 1; port <= RATE_MAX; port++) {
      const a = await rawRequest(s.port, register(port));
      assert.equal(a?.status, 200, `write ${port}: ${a?.status} ${a?.body}`);
    }
    const a = await refusalLeavesStateAlone(
      s.server,
      () => rawRequest(s.port, register(99)),
      () => true,
      'over the rate',
    );
    assertLimited(a, 'native register');
    assert.equal((JSON.parse(a?.body ?? '{}') as { code?: string }).code, 'RATE_LIMITED');
    const nacos = await refusalLeavesStateAlone(
      s.server,
      () => rawRequest(s.port, { method: 'POST', path: '/nacos/v1/ns/instance?serviceName=rl&ip=10.6.0.1&port=98' }),
      () => true,
      'nacos over the rate',
    );
    assertLimited(nacos, 'Nacos register');
    assert.match(nacos?.headers['content-type'] ?? '', /^text\/plain/);
  });

  it('never limits heartbeats or reads', async () => {
    for (let i = 0; i < 30; i++) {
      const beat = await rawRequest(s.port, {
        method: 'PUT',
        path: '/v1/instances/heartbeat',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ service: 'rl', ip: '10.6.0.1', port: 1 }),
      });
      assert.equal(beat?.status, 200, `heartbeat ${i}: ${beat?.status} ${beat?.body}`);
      const nacosBeat = await rawRequest(s.port, {
        method: 'PUT',
        path: '/nacos/v1/ns/instance/beat?serviceName=rl&ip=10.6.0.1&port=1',
      });
      assert.equal(nacosBeat?.status, 200, `Nacos beat ${i}: ${nacosBeat?.status} ${nacosBeat?.body}`);
      const read = await rawRequest(s.port, { method: 'GET', path: '/v1/services/public/DEFAULT_GROUP/rl' });
      assert.equal(read?.status, 200);
    }
  });

  it('counts a Nacos beat that registers a vanished instance as a write', async () => {
    const beat = JSON.stringify({ ip: '10.6.0.7', port: 7777, serviceName: 'DEFAULT_GROUP@@rl' });
    const a = await refusalLeavesStateAlone(
      s.server,
      () =>
        rawRequest(s.port, {
          method: 'PUT',
          path: '/nacos/v1/ns/instance/beat',
          headers: [['Content-Type', 'application/x-www-form-urlencoded']],
          body: `serviceName=rl&beat=${encodeURIComponent(beat)}`,
        }),
      () => true,
      're-registering beat',
    );
    assertLimited(a, 're-registering beat');
  });

  it('counts registrations over a session socket', async () => {
    const sock = await FuzzSocket.open(`ws://127.0.0.1:${s.port}/v1/session`, sessionServerMessageSchema);
    try {
      sock.send({ kind: 'text', text: JSON.stringify({ type: 'open', ttlMs: 10_000 }) });
      await sock.until((ms) => ms.some((m) => m.type === 'opened'), 5000, 'opened');
      sock.send({
        kind: 'text',
        text: JSON.stringify({ type: 'register', reqId: 1, instance: { service: 'rl', ip: '10.6.0.2', port: 1 } }),
      });
      await sock.until((ms) => ms.some((m) => m.reqId === 1), 5000, 'the answer');
      const answer = sock.messages.find((m) => m.reqId === 1);
      assert.equal(answer?.type, 'error');
      assert.equal(answer?.code, 'RATE_LIMITED');
    } finally {
      sock.close();
    }
  });

  it('does not limit another client address', async () => {
    const a = await rawRequest(s.port, register(50, '10.6.0.3'), { localAddress: OTHER_CLIENT });
    assert.equal(a?.status, 200, `${a?.status} ${a?.body}`);
    const sock = await FuzzSocket.open(`ws://127.0.0.1:${s.port}/v1/session`, sessionServerMessageSchema, {
      localAddress: OTHER_CLIENT,
    });
    try {
      sock.send({ kind: 'text', text: JSON.stringify({ type: 'open', ttlMs: 10_000 }) });
      await sock.until((ms) => ms.some((m) => m.type === 'opened'), 5000, 'opened');
      sock.send({
        kind: 'text',
        text: JSON.stringify({ type: 'register', reqId: 1, instance: { service: 'rl', ip: '10.6.0.3', port: 2 } }),
      });
      await sock.until((ms) => ms.some((m) => m.reqId === 1), 5000, 'the answer');
      assert.equal(sock.messages.find((m) => m.reqId === 1)?.type, 'registered');
    } finally {
      sock.close();
    }
    guard.check();
  });
});
