// Property: every Nacos endpoint, sent random and adversarial parameters (in the query string, a
// form body, or split between them; with lying content types), answers a success or a 4xx in
// Nacos's format (plain text); never a 5xx, a hang or a crash; a refused request (4xx, or Nacos's
// `false`) leaves the registry as it was; and the server answers /healthz afterwards.
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  contentTypeArb,
  extraHeadersArb,
  hostileMetadata,
  hostileNumberText,
  JObj,
  jsonText,
  jsonValueArb,
  keyArb,
  mutatedBody,
  nameValueArb,
  rarely,
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

interface Endpoint {
  readonly method: string;
  readonly path: string;
  readonly keys: readonly string[];
}

const INSTANCE_KEYS = [
  'serviceName',
  'groupName',
  'namespaceId',
  'ip',
  'port',
  'clusterName',
  'cluster',
  'weight',
  'enabled',
  'enable',
  'healthy',
  'ephemeral',
  'metadata',
];
const SERVICE_KEYS = ['serviceName', 'groupName', 'namespaceId', 'protectThreshold', 'metadata', 'selector'];
const NAMESPACE_KEYS = [
  'customNamespaceId',
  'namespaceName',
  'namespaceDesc',
  'namespace',
  'namespaceShowName',
  'namespaceId',
  'checkNamespaceIdExist',
  'show',
];

const ENDPOINTS: readonly Endpoint[] = [
  ...['POST', 'DELETE', 'PUT', 'PATCH', 'GET'].map((method) => ({
    method,
    path: '/nacos/v1/ns/instance',
    keys: INSTANCE_KEYS,
  })),
  {
    method: 'GET',
    path: '/nacos/v1/ns/instance/list',
    keys: ['serviceName', 'groupName', 'namespaceId', 'clusters', 'udpPort', 'clientIP', 'healthyOnly'],
  },
  { method: 'PUT', path: '/nacos/v1/ns/instance/beat', keys: [...INSTANCE_KEYS, 'beat'] },
  ...['POST', 'DELETE', 'PUT', 'GET'].map((method) => ({ method, path: '/nacos/v1/ns/service', keys: SERVICE_KEYS })),
  { method: 'GET', path: '/nacos/v1/ns/service/list', keys: ['pageNo', 'pageSize', 'namespaceId', 'groupName'] },
  ...['GET', 'POST', 'PUT', 'DELETE'].map((method) => ({
    method,
    path: '/nacos/v1/console/namespaces',
    keys: NAMESPACE_KEYS,
  })),
  { method: 'POST', path: '/nacos/v1/auth/login', keys: ['username', 'password'] },
  { method: 'POST', path: '/nacos/v1/auth/users/login', keys: ['username', 'password'] },
  { method: 'GET', path: '/nacos/v1/ns/operator/metrics', keys: [] },
];

/** A UDP socket that swallows the pushes of `instance/list` polls with `udpPort` (so they stay in this test). */
let sinkPort = 0;

const BEAT_TEMPLATE = {
  ip: '10.3.0.1',
  port: 7001,
  cluster: 'DEFAULT',
  serviceName: 'DEFAULT_GROUP@@nz-svc',
  weight: 1,
  metadata: {},
};

function valueArb(key: string): fc.Arbitrary<string> {
  const plausible = (values: readonly string[]) =>
    fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...values) }, { weight: 2, arbitrary: nameValueArb(values) });
  switch (key) {
    case 'serviceName':
      return plausible(['nz-svc', 'nz-other', 'DEFAULT_GROUP@@nz-svc', 'g1@@nz-svc']);
    case 'groupName':
      return plausible(['DEFAULT_GROUP', 'g1']);
    case 'namespaceId':
    case 'namespace':
    case 'customNamespaceId':
      return plausible(['', 'public', 'nz', 'nz-new']);
    case 'ip':
    case 'clientIP':
      return plausible(['10.3.0.1', '127.0.0.1', '::1', 'host-1.example']);
    case 'port':
    case 'pageNo':
    case 'pageSize':
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('7001', '7002', '1', '10') },
        { weight: 2, arbitrary: hostileNumberText },
      );
    case 'udpPort':
      // Only the sink or ports nothing listens on: pushes must not reach other processes.
      return fc.constantFrom(String(sinkPort), '0', '-1', '65536', '70000', 'abc', '', '2147483648', '1e3', ' 5 ');
    case 'weight':
    case 'protectThreshold':
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('1', '0.5', '0', '100', '100.01', '10000', '1d', '.5', ' 2 ') },
        { weight: 2, arbitrary: hostileNumberText },
      );
    case 'enabled':
    case 'enable':
    case 'healthy':
    case 'ephemeral':
    case 'healthyOnly':
    case 'checkNamespaceIdExist':
      return fc.constantFrom('true', 'false', 'on', 'yes', 'Y', 't', '1', '', 'TRUE', 'nope');
    case 'metadata':
      return fc.oneof(
        { weight: 3, arbitrary: hostileMetadata.map(jsonText) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('a=b,c=d', 'a=b=c', 'a', '=', ',,,', 'k=v,', '{"a":1}', '{"a":{"b":1}}', '[1]'),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '{"preserved.heart.beat.interval":"1000","preserved.heart.beat.timeout":"500"}',
            '{"preserved.heart.beat.interval":"99","preserved.heart.beat.timeout":"99999999999999999999"}',
            '{"preserved.heart.beat.interval":"1000","preserved.heart.beat.timeout":"3000","preserved.ip.delete.timeout":"2000"}',
          ),
        },
      );
    case 'beat':
      return fc.oneof(
        { weight: 4, arbitrary: mutatedBody(BEAT_TEMPLATE).map(jsonText) },
        { weight: 1, arbitrary: jsonValueArb(Object.keys(BEAT_TEMPLATE)).map(jsonText) },
      );
    case 'selector':
      return fc.constantFrom(
        '',
        '{"type":"none"}',
        '{"type":"label","expression":"x"}',
        '{"type":"x"}',
        '{',
        '%7B%22type%22%3A%22none%22%7D',
        'null',
        '%',
      );
    case 'clusters':
    case 'clusterName':
    case 'cluster':
      return plausible(['DEFAULT', 'c1', 'DEFAULT,c1', 'bad_cluster']);
    case 'show':
      return fc.constantFrom('all', '', 'x');
    default:
      return plausible(['x', 'nacos', 'Namespace 1']);
  }
}

interface Param {
  readonly key: string;
  readonly value: string;
  readonly inBody: boolean;
  readonly encode: boolean;
}

const paramArb = (key: string): fc.Arbitrary<Param> =>
  fc.record({ key: fc.constant(key), value: valueArb(key), inBody: fc.boolean(), encode: fc.nat(9).map((n) => n > 0) });

/**
 * Parameters of one request: most of the endpoint's own (each left out now and then), a few
 * unknown or hostile ones; each in the query string or the form body, encoded or raw; shuffled.
 */
function paramsArb(keys: readonly string[]): fc.Arbitrary<Param[]> {
  const own = fc.tuple(...keys.map((k) => fc.option(paramArb(k), { freq: 4, nil: undefined })));
  const extra = fc.array(keyArb(keys).chain(paramArb), { maxLength: 2 });
  return fc
    .tuple(own, extra)
    .chain(([o, e]) => {
      const all = [...o.filter((p) => p !== undefined), ...e];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    })
    .map((ps) => ps as Param[]);
}

function encode(pairs: readonly { key: string; value: string; encode: boolean }[]): string {
  const enc = (s: string, e: boolean) => (e ? encodeURIComponent(s) : s.replace(/[\s#&]/g, '+'));
  return pairs.map((p) => `${enc(p.key, p.encode)}=${enc(p.value, p.encode)}`).join('&');
}

const nacosRequest: fc.Arbitrary<RawRequest> = fc
  .constantFrom(...ENDPOINTS)
  .chain((ep) =>
    fc.record({
      ep: fc.constant(ep),
      params: paramsArb(ep.keys),
      type: fc.oneof(
        { weight: 12, arbitrary: fc.constant<string | null>('application/x-www-form-urlencoded') },
        { weight: 2, arbitrary: contentTypeArb },
        { weight: 1, arbitrary: fc.constant<string | null>('application/x-www-form-urlencoded; charset=ISO-8859-1') },
      ),
      strayBody: rarely(fc.constantFrom('{"serviceName":"nz-svc"}', '<xml/>', 'a=%zz&b', '%', '&&&='), 10),
      headers: extraHeadersArb,
    }),
  )
  .map(({ ep, params, type, strayBody, headers }) => {
    const query = params.filter((p) => !p.inBody);
    const form = params.filter((p) => p.inBody);
    const body = strayBody ?? (form.length > 0 ? encode(form) : undefined);
    return {
      method: ep.method,
      path: ep.path + (query.length > 0 ? `?${encode(query)}` : ''),
      headers: [...(body !== undefined && type !== null ? [['Content-Type', type] as const] : []), ...headers],
      ...(body !== undefined ? { body } : {}),
    };
  });

/** A Nacos refusal: a 4xx, or `false` from the console namespace writes. */
function refusedByNacos(a: { status: number; body: string } | null): boolean {
  return a === null || a.status >= 400 || a.body === 'false';
}

describe('Nacos API fuzz (real sockets)', () => {
  let s: FuzzServer;
  let guard: CrashGuard;
  let sink: Socket;

  before(async () => {
    guard = new CrashGuard();
    sink = createSocket('udp4');
    sink.on('message', () => {});
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    sinkPort = sink.address().port;
    s = await startFuzzServer(['--write-rate-max', '0']);
    const seed = await rawRequest(s.port, {
      method: 'POST',
      path: '/nacos/v1/ns/instance?serviceName=nz-svc&ip=10.3.0.1&port=7001&ephemeral=false',
    });
    if (seed?.status !== 200) throw new Error(`seeding failed: ${seed?.status} ${seed?.body}`);
  });

  after(async () => {
    await s?.stop();
    sink?.close();
    guard?.dispose();
  });

  const RUNS = 160;
  it(
    'every endpoint answers 2xx or a 4xx in Nacos format; a refusal changes nothing',
    { timeout: testTimeoutMs(RUNS) },
    async () => {
      await fc.assert(
        fc.asyncProperty(nacosRequest, async (req) => {
          const what = describeRequest(req);
          const answer = await refusalLeavesStateAlone(s.server, () => rawRequest(s.port, req), refusedByNacos, what);
          assertWellFormed(answer, 'nacos', what);
          guard.check();
        }),
        fuzzParams(RUNS),
      );
      await assertAlive(s.port, s.server);
      guard.check();
    },
  );

  const BEAT_RUNS = 40;
  it(
    'beats with hostile JSON never re-register anything they were refused for',
    { timeout: testTimeoutMs(BEAT_RUNS) },
    async () => {
      const beat = fc.tuple(mutatedBody(BEAT_TEMPLATE), fc.nat(999)).map(([b, n]) => {
        // A fresh port each time, so that the beat is for an instance the registry does not hold.
        const entries =
          b instanceof JObj
            ? b.entries.map(([k, v]) => (k === 'port' && v === 7001 ? ([k, 8000 + n] as const) : ([k, v] as const)))
            : null;
        return entries ? jsonText(new JObj(entries)) : jsonText(b);
      });
      await fc.assert(
        fc.asyncProperty(beat, async (beatJson) => {
          const req: RawRequest = {
            method: 'PUT',
            path: '/nacos/v1/ns/instance/beat',
            headers: [['Content-Type', 'application/x-www-form-urlencoded']],
            body: `serviceName=nz-svc&beat=${encodeURIComponent(beatJson)}`,
          };
          const what = describeRequest(req);
          const answer = await refusalLeavesStateAlone(s.server, () => rawRequest(s.port, req), refusedByNacos, what);
          assertWellFormed(answer, 'nacos', what);
          guard.check();
        }),
        fuzzParams(BEAT_RUNS),
      );
      await assertAlive(s.port, s.server);
    },
  );
});
