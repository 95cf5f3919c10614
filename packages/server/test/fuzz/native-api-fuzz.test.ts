// Property: every native REST route, sent random and adversarial requests over a real socket
// (hostile path segments, query strings, bodies, content types, headers), answers a success or a
// 4xx `{code, message}`; never a 5xx, a hang or a crash; a refused request leaves the registry as it
// was; and the server answers /healthz afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { NATIVE_ROUTES } from '../../src/api/native/native-api.js';
import type { NativeRoute } from '../../src/api/native/native-route.js';
import {
  brokenJsonText,
  contentTypeArb,
  extraHeadersArb,
  hostileMetadata,
  hostileNumberText,
  JObj,
  type JValue,
  jsonText,
  keyArb,
  mutatedBody,
  nameValueArb,
  pathSegmentArb,
} from './fuzz-arbitraries.js';
import {
  assertAlive,
  assertWellFormed,
  CrashGuard,
  describeRequest,
  type FuzzServer,
  fuzzParams,
  type RawRequest,
  rawRequest,
  refusalLeavesStateAlone,
  startFuzzServer,
  testTimeoutMs,
} from './fuzz-kit.js';

/** Values a path parameter or query key takes when it is meant to be valid. */
const PLAUSIBLE_VALUES: Record<string, readonly string[]> = {
  namespace: ['public', 'fz'],
  group: ['DEFAULT_GROUP', 'g1'],
  service: ['fz-svc', 'fz-other'],
  id: ['n2', 'n9'],
  zone: ['az1', 'az2'],
  ip: ['10.1.0.1', '10.1.0.2', '::1'],
  port: ['8080', '8081'],
  cluster: ['DEFAULT', 'c1'],
  consistent: ['true', 'false'],
  healthyOnly: ['true', 'false', '1'],
  clusters: ['DEFAULT', 'DEFAULT,c1'],
  labels: ['version:v1', 'a:b,c:d'],
  waitIndex: ['0', '1', '5'],
  wait: ['0ms', '20ms', '50ms', '1h', '61s', '-1s', 'abc'],
  name: ['fz'],
  pageNo: ['1', '2', '0'],
  pageSize: ['1', '1000', '1001'],
};

const plausible = (k: string): readonly string[] =>
  Object.hasOwn(PLAUSIBLE_VALUES, k) ? (PLAUSIBLE_VALUES[k] as readonly string[]) : ['x'];

/** A valid body per operation, for mutation. */
const TEMPLATES: Record<string, Record<string, unknown>> = {
  registerInstance: { service: 'fz-svc', ip: '10.1.0.1', port: 8080, ephemeral: false, metadata: { a: 'b' } },
  updateInstance: { service: 'fz-svc', ip: '10.1.0.1', port: 8080, weight: 5 },
  heartbeatInstance: { service: 'fz-svc', ip: '10.1.0.1', port: 8080 },
  heartbeatInstances: { instances: [{ service: 'fz-svc', ip: '10.1.0.1', port: 8080 }] },
  putService: { protectThreshold: 0.5, metadata: { owner: 'fz' } },
  updateService: { protectThreshold: 0.1 },
  putNamespace: { name: 'fuzzed', description: '' },
  addMember: { id: 'n9', address: '127.0.0.1:1', learner: true },
  transferLeadership: { to: 'n2' },
  setZoneWeight: { weight: 50 },
};

function keysOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function queryArb(known: readonly string[]): fc.Arbitrary<string> {
  const value = (k: string): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...plausible(k)) },
      { weight: 2, arbitrary: nameValueArb(plausible(k)) },
      { weight: 1, arbitrary: hostileNumberText },
    );
  const pair = keyArb(known).chain((k) => fc.tuple(fc.constant(k), value(k), fc.boolean()));
  return fc.array(pair, { maxLength: 7 }).map((pairs) => {
    const keys = new Set(pairs.map(([k]) => k));
    // A long-poll without a short wait would be held 30 s: the fuzz keeps waits short.
    if (keys.has('waitIndex') && !keys.has('wait')) pairs.push(['wait', '20ms', true]);
    if (pairs.length === 0) return '';
    const enc = (s: string, encode: boolean) => (encode ? encodeURIComponent(s) : s.replace(/[\s#]/g, '+'));
    return `?${pairs.map(([k, v, encode]) => `${enc(k, encode)}=${enc(v, encode)}`).join('&')}`;
  });
}

function pathArb(url: string): fc.Arbitrary<string> {
  const names = [...url.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
  return fc.tuple(...names.map((n) => pathSegmentArb(plausible(n)))).map((values) => {
    let i = 0;
    return url.replace(/:(\w+)/g, () => values[i++] as string);
  });
}

function bodyArb(route: NativeRoute): fc.Arbitrary<string | undefined> {
  const template = Object.hasOwn(TEMPLATES, route.operationId) ? TEMPLATES[route.operationId] : undefined;
  if (!route.body || !template) {
    return fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: brokenJsonText });
  }
  return fc.oneof(
    { weight: 9, arbitrary: mutatedBody(template).map(jsonText) },
    { weight: 1, arbitrary: brokenJsonText },
  );
}

function routeRequest(route: NativeRoute): fc.Arbitrary<RawRequest> {
  return fc
    .record({
      path: pathArb(route.url),
      query: queryArb(keysOf(route.query)),
      body: bodyArb(route),
      type: contentTypeArb,
      headers: extraHeadersArb,
    })
    .map(({ path, query, body, type, headers }) => ({
      method: route.method,
      path: path + query,
      headers: [...(type !== null && body !== undefined ? [['Content-Type', type] as const] : []), ...headers],
      ...(body !== undefined ? { body } : {}),
    }));
}

const nativeRequest: fc.Arbitrary<RawRequest> = fc.oneof(...NATIVE_ROUTES.map(routeRequest));

describe('native API fuzz (real sockets)', () => {
  let s: FuzzServer;
  let guard: CrashGuard;

  before(async () => {
    guard = new CrashGuard();
    s = await startFuzzServer(['--write-rate-max', '0']);
    const { registry } = s.server;
    await registry.execute({ op: 'namespace.put', namespace: { id: 'fz', name: 'fz', description: '' } });
    for (const port of [8080, 8081]) {
      await registry.execute({
        op: 'register',
        instance: {
          namespace: 'public',
          group: 'DEFAULT_GROUP',
          service: 'fz-svc',
          cluster: 'DEFAULT',
          ip: '10.1.0.1',
          port,
          weight: 100,
          healthy: true,
          enabled: true,
          ephemeral: false,
          zone: 'az1',
          metadata: { version: 'v1' },
          heartbeat: { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 30_000 },
          lease: null,
          check: null,
        },
      });
    }
  });

  after(async () => {
    await s?.stop();
    guard?.dispose();
  });

  const RUNS = 160;
  it(
    'every route answers 2xx or a 4xx {code, message}; a refusal changes nothing',
    { timeout: testTimeoutMs(RUNS) },
    async () => {
      await fc.assert(
        fc.asyncProperty(nativeRequest, async (req) => {
          const what = describeRequest(req);
          const answer = await refusalLeavesStateAlone(
            s.server,
            () => rawRequest(s.port, req),
            (a) => a === null || a.status >= 400,
            what,
          );
          assertWellFormed(answer, 'cairn', what);
          guard.check();
        }),
        fuzzParams(RUNS),
      );
      await assertAlive(s.port, s.server);
      guard.check();
    },
  );

  const META_RUNS = 60;
  it(
    'metadata is stored exactly as sent, as own string properties, or refused',
    { timeout: testTimeoutMs(META_RUNS) },
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileMetadata, fc.integer({ min: 9000, max: 9999 }), async (metadata: JValue, port) => {
          const body = new JObj([
            ['service', 'fz-meta'],
            ['ip', '10.2.0.1'],
            ['port', port],
            ['ephemeral', false],
            ['metadata', metadata],
          ]);
          const req: RawRequest = {
            method: 'POST',
            path: '/v1/instances',
            headers: [['Content-Type', 'application/json']],
            body: jsonText(body),
          };
          const what = describeRequest(req);
          const answer = await refusalLeavesStateAlone(
            s.server,
            () => rawRequest(s.port, req),
            (a) => a === null || a.status >= 400,
            what,
          );
          const refused = assertWellFormed(answer, 'cairn', what);
          if (!refused) {
            const key = {
              namespace: 'public',
              group: 'DEFAULT_GROUP',
              service: 'fz-meta',
              cluster: 'DEFAULT',
              ip: '10.2.0.1',
              port,
            };
            const stored = s.server.registry.state.instance(key);
            assert.ok(stored, `${what}: accepted but not stored`);
            assert.equal(Object.getPrototypeOf(stored.metadata), Object.prototype);
            for (const [k, v] of Object.entries(stored.metadata)) {
              assert.equal(typeof v, 'string', `${what}: metadata ${k} is not a string`);
              assert.ok(!['__proto__', 'constructor', 'prototype'].includes(k), `${what}: polluting key ${k} stored`);
            }
            const sent = JSON.parse(jsonText(metadata)) as Record<string, unknown>;
            assert.deepEqual(stored.metadata, sent, `${what}: stored metadata differs from what was sent`);
          }
          guard.check();
        }),
        fuzzParams(META_RUNS),
      );
      await assertAlive(s.port, s.server);
    },
  );
});
