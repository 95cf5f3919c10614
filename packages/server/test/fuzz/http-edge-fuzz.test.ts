// Property: bytes that are barely HTTP, sent to every route of a zone replica (the API surfaces and
// the rest: health, metrics, docs, the admin UI, replica routes, WebSocket endpoints) over real
// sockets: broken request lines, odd methods and versions, header tricks (obs-fold, duplicate or
// conflicting lengths, NUL bytes, bare LF, thousands of headers, huge values), lying or broken
// chunked bodies, truncated requests, random bytes. Every answer is a success or a 4xx
// `{code, message}` (Nacos routes: text); a truncated request is answered 408 once the headers or
// request timeout passes; the process never crashes, a refusal changes nothing, and the server keeps
// answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { brokenJsonText, pathSegmentArb, rarely } from './fuzz-arbitraries.js';
import {
  assertAlive,
  assertWellFormed,
  CrashGuard,
  type FuzzServer,
  fuzzParams,
  rawExchange,
  refusalLeavesStateAlone,
  startFuzzServer,
  testTimeoutMs,
} from './fuzz-kit.js';

const HEADERS_TIMEOUT_MS = 800;
const REQUEST_TIMEOUT_MS = 1500;

/** Every kind of route a replica serves (templates: `:x` is a hostile or valid segment). */
const PATHS = [
  '/healthz',
  '/readyz',
  '/v1/cluster',
  '/metrics',
  '/openapi.json',
  '/docs',
  '/ui/',
  '/ui/context.json',
  '/ui/:x',
  '/',
  '/v1/auth/login',
  '/v1/auth/me',
  '/internal/v1/renewals',
  '/internal/v1/checks/view',
  '/raft/peer',
  '/v1/watch',
  '/v1/session',
  '/v1/instances',
  '/v1/instances/heartbeat',
  '/v1/services',
  '/v1/services/:x/:x/:x',
  '/v1/namespaces/:x',
  '/v1/zones/weights',
  '/nacos/v1/ns/instance',
  '/nacos/v1/ns/instance/list',
  '/nacos/v1/ns/instance/beat',
  '/nacos/v1/console/namespaces',
  '/nacos/v1/auth/login',
  '/:x',
];

const METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'CONNECT',
  'PROPFIND',
  'get',
  'G\u0000T',
  'X'.repeat(80),
  '',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'HTTP/1', 'http/1.1', ''];

const pathArb = fc
  .tuple(
    fc.constantFrom(...PATHS),
    fc.array(pathSegmentArb(['public', 'DEFAULT_GROUP', 'svc']), { minLength: 3, maxLength: 3 }),
  )
  .map(([p, segs]) => {
    let i = 0;
    return p.replace(/:x/g, () => segs[i++] as string);
  });

const targetArb = fc.oneof(
  { weight: 8, arbitrary: pathArb },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '*',
      'http://evil.example/v1/namespaces',
      '//v1/namespaces',
      '/v1/namespaces#frag',
      '/v1/namespaces?a=%',
      '/v1/./namespaces',
      '/v1/../v1/namespaces',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/v1/namespaces\u0000',
      '/v1/name spaces',
      'v1/namespaces',
      '',
      `/${'a'.repeat(20_000)}`,
    ),
  },
);

type HeaderTrick = readonly string[];

const headerTricks: fc.Arbitrary<HeaderTrick> = fc.constantFrom<HeaderTrick>(
  [],
  ['Content-Type: application/json'],
  ['Content-Length: 2', 'Content-Length: 3'],
  ['Content-Length: -1'],
  ['Content-Length: 1e3'],
  ['Content-Length: 99999999999999999999'],
  ['Transfer-Encoding: chunked', 'Content-Length: 2'],
  ['Transfer-Encoding: gzip, chunked'],
  ['Transfer-Encoding: identity'],
  ['X-Folded: a', ' continued'],
  ['No-Colon-Here'],
  ['Space Before : colon'],
  [': empty-name'],
  ['X-Nul: a\u0000b'],
  ['X-Latin: caf\u00e9'],
  ['X-Utf8: \u{1F600}'],
  ['Host: a', 'Host: b'],
  ['Connection: keep-alive, upgrade', 'Upgrade: h2c'],
  [
    'Upgrade: websocket',
    'Connection: upgrade',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  ],
  ['Upgrade: websocket', 'Connection: upgrade', 'Sec-WebSocket-Version: 99', 'Sec-WebSocket-Key: short'],
  [
    'Upgrade: websocket',
    'Connection: upgrade',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: a,,b',
  ],
  ['Expect: 100-continue'],
  ['Expect: the-unexpected'],
  [`X-Huge: ${'h'.repeat(17_000)}`],
  Array.from({ length: 2100 }, (_, i) => `X-H${i}: v`),
);

/** How the request ends: a body (or none) after the headers, possibly chunked, possibly cut short. */
const bodyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ mode: 'none' as const, text: '' }) },
  { weight: 3, arbitrary: brokenJsonText.map((text) => ({ mode: 'length' as const, text })) },
  {
    weight: 1,
    arbitrary: fc.constant({
      mode: 'length' as const,
      text: '{"service":"svc","ip":"10.9.0.1","port":1,"ephemeral":false}',
    }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      { mode: 'raw' as const, text: '5\r\nhello\r\n0\r\n\r\n' },
      { mode: 'raw' as const, text: 'zz\r\nhello\r\n0\r\n\r\n' },
      { mode: 'raw' as const, text: '5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n' },
      { mode: 'raw' as const, text: 'FFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n' },
      { mode: 'raw' as const, text: '3\r\nabcdef\r\n0\r\n\r\n' },
    ),
  },
);

interface RawCase {
  readonly bytes: Buffer;
  /** The request is cut before its end: the server waits, then times it out. */
  readonly truncated: boolean;
  readonly what: string;
}

const requestCase: fc.Arbitrary<RawCase> = fc
  .record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') },
      { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
    ),
    target: targetArb,
    version: fc.oneof(
      { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
      { weight: 1, arbitrary: fc.constantFrom(...VERSIONS) },
    ),
    tricks: headerTricks,
    body: bodyArb,
    eol: fc.oneof({ weight: 9, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') }),
    cut: rarely(fc.double({ min: 0.05, max: 0.95, noNaN: true }), 20),
  })
  .map(({ method, target, version, tricks, body, eol, cut }) => {
    const lines = [`${method} ${target} ${version}`, 'Host: 127.0.0.1', 'Connection: close', ...tricks];
    if (body.mode === 'length' && !tricks.some((t) => /^(content-length|transfer-encoding)/i.test(t))) {
      lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body.text)}`);
    }
    if (body.mode === 'raw' && !tricks.some((t) => /^transfer-encoding/i.test(t)))
      lines.push('Transfer-Encoding: chunked');
    const full = Buffer.from(`${lines.join(eol)}${eol}${eol}${body.text}`, 'utf8');
    const truncated = cut !== null;
    const bytes = truncated ? full.subarray(0, Math.max(1, Math.floor(full.length * cut))) : full;
    return { bytes, truncated, what: JSON.stringify(bytes.subarray(0, 400).toString('latin1')) };
  });

const randomBytes: fc.Arbitrary<RawCase> = fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => ({
  bytes: Buffer.from(b),
  truncated: true,
  what: `random ${Buffer.from(b).toString('hex').slice(0, 200)}`,
}));

describe('HTTP edge fuzz (raw sockets, every route)', () => {
  let s: FuzzServer;
  let guard: CrashGuard;

  before(async () => {
    guard = new CrashGuard();
    s = await startFuzzServer([
      '--write-rate-max',
      '0',
      '--headers-timeout-ms',
      String(HEADERS_TIMEOUT_MS),
      '--request-timeout-ms',
      String(REQUEST_TIMEOUT_MS),
    ]);
  });

  after(async () => {
    await s?.stop();
    guard?.dispose();
  });

  const RUNS = 120;
  it(
    'malformed requests are answered 4xx {code, message} (or 408 when cut short); the server stays up',
    { timeout: testTimeoutMs(RUNS, 400) },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 9, arbitrary: requestCase }, { weight: 1, arbitrary: randomBytes }),
          async (c) => {
            const startMs = Date.now();
            const answer = await refusalLeavesStateAlone(
              s.server,
              () => rawExchange(s.port, c.bytes, { timeoutMs: REQUEST_TIMEOUT_MS * 4 }),
              (a) => a === null || a.status >= 400,
              c.what,
            );
            const nacos = c.bytes.includes('/nacos/');
            // An answer, in cairn's format (Nacos text on Nacos routes); a connection the server resets
            // while the request was still arriving is also a refusal, as long as the process lives.
            const head = c.bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
            // The readiness probe answers 503 while the replica catches up: that is its contract.
            const probe = answer?.status === 503 && c.bytes.includes(' /readyz ');
            if (answer !== null && !probe) assertWellFormed(answer, nacos ? 'nacos' : 'cairn', c.what, { head });
            if (c.truncated && answer?.status === 408) {
              assert.ok(Date.now() - startMs < REQUEST_TIMEOUT_MS * 3, `${c.what}: the 408 came late`);
            }
            guard.check();
          },
        ),
        fuzzParams(RUNS),
      );
      await assertAlive(s.port, s.server);
      guard.check();
    },
  );
});
