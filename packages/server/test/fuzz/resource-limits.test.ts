// The size bounds of a replica, each reached through the native API, the Nacos API and session
// sockets: instances per service and per namespace, services per namespace, namespaces, metadata
// bytes, body size, long-polls held, writes in flight, watch sockets. Each refusal is a 4xx naming
// its bound, and leaves the registry as it was.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { sessionServerMessageSchema } from '../../src/protocol/index.js';
import {
  assertWellFormed,
  CrashGuard,
  type FuzzServer,
  type RawAnswer,
  type RawRequest,
  rawRequest,
  refusalLeavesStateAlone,
  startFuzzServer,
} from './fuzz-kit.js';
import { FuzzSocket } from './socket-kit.js';

const json = (method: string, path: string, body?: unknown): RawRequest => ({
  method,
  path,
  ...(body !== undefined
    ? { headers: [['Content-Type', 'application/json'] as const], body: JSON.stringify(body) }
    : {}),
});

const register = (service: string, port: number, extra: Record<string, unknown> = {}): RawRequest =>
  json('POST', '/v1/instances', { service, ip: '10.5.0.1', port, ephemeral: false, ...extra });

describe('resource limits', () => {
  let s: FuzzServer;
  let guard: CrashGuard;

  before(async () => {
    guard = new CrashGuard();
    s = await startFuzzServer([
      '--write-rate-max',
      '0',
      '--instances-per-service-max',
      '3',
      '--instances-per-namespace-max',
      '5',
      '--services-per-namespace-max',
      '3',
      '--namespaces-max',
      '3',
      '--metadata-bytes-max',
      '100',
      '--long-polls-max',
      '2',
      '--watch-connections-max',
      '2',
      '--body-limit-bytes',
      '4096',
    ]);
  });

  after(async () => {
    await s?.stop();
    guard?.dispose();
  });

  /** Sends `req`, expects a refusal with `code` whose message names `bound`, and an unchanged registry. */
  async function refused(req: RawRequest, status: number, code: string, bound: string): Promise<RawAnswer> {
    const a = await refusalLeavesStateAlone(
      s.server,
      () => rawRequest(s.port, req),
      () => true,
      req.path,
    );
    assert.ok(a);
    assert.equal(a.status, status, `${req.method} ${req.path}: ${a.status} ${a.body}`);
    if (a.headers['content-type']?.startsWith('application/json')) {
      const body = JSON.parse(a.body) as { code: string; message: string };
      assert.equal(body.code, code, a.body);
      assert.match(body.message, new RegExp(bound), a.body);
    } else {
      assert.match(a.body, new RegExp(bound), a.body);
    }
    return a;
  }

  async function ok(req: RawRequest): Promise<RawAnswer> {
    const a = await rawRequest(s.port, req);
    assert.ok(a && a.status === 200, `${req.method} ${req.path}: ${a?.status} ${a?.body}`);
    return a;
  }

  it('instances per service: a new instance past the bound is refused; existing ones may re-register', async () => {
    for (let port = 1; port <= 3; port++) await ok(register('full', port));
    await refused(register('full', 4), 409, 'LIMIT_EXCEEDED', 'instances-per-service-max');
    await ok(register('full', 2, { weight: 7 }));
    await refused(
      { method: 'POST', path: '/nacos/v1/ns/instance?serviceName=full&ip=10.5.0.1&port=5&ephemeral=false' },
      409,
      'LIMIT_EXCEEDED',
      'instances-per-service-max',
    );
    assert.equal(
      s.server.registry.state.instanceCountOf({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'full' }),
      3,
    );
  });

  it('instances per namespace', async () => {
    await ok(register('second', 1));
    await ok(register('second', 2));
    await refused(register('second', 3), 409, 'LIMIT_EXCEEDED', 'instances-per-namespace-max');
    assert.equal(s.server.registry.state.instanceCountIn('public'), 5);
  });

  it('session registrations meet the same bounds', async () => {
    const sock = await FuzzSocket.open(`ws://127.0.0.1:${s.port}/v1/session`, sessionServerMessageSchema);
    try {
      sock.send({ kind: 'text', text: JSON.stringify({ type: 'open', ttlMs: 10_000 }) });
      await sock.until((ms) => ms.some((m) => m.type === 'opened'), 5000, 'opened');
      const instance = { service: 'full', ip: '10.5.0.9', port: 9 };
      sock.send({ kind: 'text', text: JSON.stringify({ type: 'register', reqId: 1, instance }) });
      await sock.until((ms) => ms.some((m) => m.reqId === 1), 5000, 'the answer');
      const answer = sock.messages.find((m) => m.reqId === 1);
      assert.equal(answer?.type, 'error');
      assert.equal(answer?.code, 'LIMIT_EXCEEDED');
      assert.equal(
        s.server.registry.state.instance({
          ...instance,
          namespace: 'public',
          group: 'DEFAULT_GROUP',
          cluster: 'DEFAULT',
        }),
        undefined,
      );
    } finally {
      sock.close();
    }
  });

  it('services per namespace, through PUT and through a registration that would create one', async () => {
    await ok(json('PUT', '/v1/namespaces/ns1', {}));
    for (const svc of ['a', 'b', 'c']) await ok(json('PUT', `/v1/services/ns1/DEFAULT_GROUP/${svc}`, {}));
    await refused(
      json('PUT', '/v1/services/ns1/DEFAULT_GROUP/d', {}),
      409,
      'LIMIT_EXCEEDED',
      'services-per-namespace-max',
    );
    await refused(register('e', 1, { namespace: 'ns1' }), 409, 'LIMIT_EXCEEDED', 'services-per-namespace-max');
    await refused(
      { method: 'POST', path: '/nacos/v1/ns/service?serviceName=f&namespaceId=ns1' },
      409,
      'LIMIT_EXCEEDED',
      'services-per-namespace-max',
    );
    await ok(json('PUT', '/v1/services/ns1/DEFAULT_GROUP/a', { protectThreshold: 0.5 }));
  });

  it('namespaces, including the ones the Nacos API creates on first use', async () => {
    await ok(json('PUT', '/v1/namespaces/ns2', {}));
    await refused(json('PUT', '/v1/namespaces/ns3', {}), 409, 'LIMIT_EXCEEDED', 'namespaces-max');
    await refused(
      { method: 'POST', path: '/nacos/v1/ns/instance?serviceName=x&ip=10.5.0.1&port=1&namespaceId=ns4' },
      409,
      'LIMIT_EXCEEDED',
      'namespaces-max',
    );
    await refused(
      { method: 'POST', path: '/nacos/v1/console/namespaces?customNamespaceId=ns5&namespaceName=five' },
      409,
      'LIMIT_EXCEEDED',
      'namespaces-max',
    );
    assert.equal(s.server.registry.state.namespaceExists('ns4'), false);
  });

  it('metadata bytes, on registration, update and services; and the body size', async () => {
    const big = { k: 'v'.repeat(120) };
    await refused(register('second', 1, { metadata: big }), 413, 'PAYLOAD_TOO_LARGE', 'metadata-bytes-max');
    await refused(
      json('PATCH', '/v1/instances', { service: 'second', ip: '10.5.0.1', port: 1, metadata: big }),
      413,
      'PAYLOAD_TOO_LARGE',
      'metadata-bytes-max',
    );
    await refused(
      json('PUT', '/v1/services/ns1/DEFAULT_GROUP/a', { metadata: big }),
      413,
      'PAYLOAD_TOO_LARGE',
      'metadata-bytes-max',
    );
    await refused(
      {
        method: 'PATCH',
        path: `/nacos/v1/ns/instance?serviceName=second&ip=10.5.0.1&port=1&metadata=${encodeURIComponent(JSON.stringify(big))}`,
      },
      413,
      'PAYLOAD_TOO_LARGE',
      'metadata-bytes-max',
    );
    await refused(
      register('second', 1, { metadata: { pad: 'p'.repeat(5000) } }),
      413,
      'PAYLOAD_TOO_LARGE',
      'too large',
    );
  });

  it('long-polls held at once', async () => {
    const poll = () =>
      rawRequest(s.port, {
        method: 'GET',
        path: `/v1/services/public/DEFAULT_GROUP/full?waitIndex=${s.server.registry.revision}&wait=1500ms`,
      });
    const held = [poll(), poll()];
    await new Promise((r) => setTimeout(r, 300));
    const third = await poll();
    assert.equal(third?.status, 429, `${third?.status} ${third?.body}`);
    assert.match(third?.body ?? '', /long-polls/);
    for (const a of await Promise.all(held)) assert.equal(a?.status, 200);
  });

  it('watch sockets: an upgrade past the bound is refused with 429 before any socket exists', async () => {
    const open: WebSocket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/v1/watch`);
        await new Promise((r, j) => {
          ws.once('open', r);
          ws.once('error', j);
        });
        open.push(ws);
      }
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/v1/watch`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      assert.equal(status, 429);
    } finally {
      for (const ws of open) ws.terminate();
    }
    guard.check();
  });
});

describe('writes in flight', () => {
  it('past --writes-inflight-max are refused with 429 and Retry-After; the refused ones leave nothing', async (t) => {
    const s = await startFuzzServer(['--write-rate-max', '0', '--writes-inflight-max', '1']);
    t.after(() => s.stop());
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => rawRequest(s.port, register('burst', i + 1))),
    );
    const limited = answers.filter((a) => a?.status === 429);
    const accepted = answers.filter((a) => a?.status === 200);
    assert.ok(limited.length > 0, 'no write was refused');
    for (const a of limited) {
      assertWellFormed(a, 'cairn', 'burst');
      assert.match(a?.body ?? '', /writes-inflight-max/);
      assert.equal(a?.headers['retry-after'], '1');
    }
    assert.equal(
      s.server.registry.state.instanceCountOf({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'burst' }),
      accepted.length,
    );
  });
});
