// What the fuzz suites share: run counts (CI vs soak), seed replay, a guard that fails on crashes
// and unhandled rejections, an in-process zone server on 127.0.0.1 with every API surface, a raw
// HTTP/1.1 client over real sockets (so that a test can send what fetch refuses to: bad bytes, huge
// headers, lying content types), the property every answer must hold, and a digest of the registry
// that a refused request must leave unchanged.
//
// Soak: FUZZ_SOAK=1 multiplies every run count (by FUZZ_SOAK_FACTOR, default 25).
// Replay a failure: fast-check prints `{ seed: S, path: "P" }`; run the one test again with
// FUZZ_SEED=S FUZZ_PATH=P (and --test-name-pattern).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type fc from 'fast-check';
import { loadServerConfig } from '../../src/config/server-config.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import type { Instance } from '../../src/registry/model.js';
import type { RegistryState } from '../../src/registry/registry-state.js';
import { ZONE_API_PLUGINS } from '../../src/server/api-plugins.js';
import { startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { freePort, sleep } from '../helpers/zone-cluster.js';

// -----------------------------------------------------------------------------------------------
// Run counts and seeds
// -----------------------------------------------------------------------------------------------

/** FUZZ_LOG=1 prints every request with its status and time (to find what precedes a failure). */
const LOG = process.env.FUZZ_LOG === '1';

export const SOAK = process.env.FUZZ_SOAK === '1' || process.env.FUZZ_SOAK === 'true';
const SOAK_FACTOR = Number(process.env.FUZZ_SOAK_FACTOR ?? 25);

/** fast-check parameters for `ciRuns` runs in CI (times the soak factor in soak mode), replayable. */
export function fuzzParams<T>(ciRuns: number): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED;
  const path = process.env.FUZZ_PATH;
  return {
    numRuns: SOAK ? ciRuns * SOAK_FACTOR : ciRuns,
    // Shrinking replays requests against a server whose state moved on: keep it short.
    endOnFailure: !SOAK,
    includeErrorInReport: true,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(path !== undefined ? { path } : {}),
  };
}

/** A timeout for a whole test: its run count times a per-run budget, plus setup. */
export function testTimeoutMs(ciRuns: number, perRunMs = 200, setupMs = 20_000): number {
  return setupMs + (SOAK ? ciRuns * SOAK_FACTOR : ciRuns) * perRunMs;
}

// -----------------------------------------------------------------------------------------------
// Crashes
// -----------------------------------------------------------------------------------------------

/**
 * Records every unhandled rejection and uncaught exception of this process (the server runs in it).
 * `check()` fails the test at the first one; `dispose()` removes the listeners.
 */
export class CrashGuard {
  private readonly seen: unknown[] = [];
  private readonly onRejection = (reason: unknown): void => {
    this.seen.push(reason);
  };
  private readonly onException = (err: unknown): void => {
    this.seen.push(err);
  };
  private readonly protoKeys = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

  constructor() {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
  }

  check(): void {
    if (this.seen.length > 0) {
      const first = this.seen[0];
      assert.fail(
        `the process saw ${this.seen.length} crash(es); first: ${first instanceof Error ? first.stack : String(first)}`,
      );
    }
    // Prototype pollution would show as a new property of Object.prototype.
    const now = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
    assert.equal(now, this.protoKeys, 'Object.prototype changed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype polluted');
  }

  dispose(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }
}

// -----------------------------------------------------------------------------------------------
// A zone server with every API surface
// -----------------------------------------------------------------------------------------------

export interface FuzzServer {
  readonly server: ZoneServer;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** One single-node zone replica with ZONE_API_PLUGINS on 127.0.0.1; `args` are extra `cairn server` flags. */
export async function startFuzzServer(args: readonly string[] = []): Promise<FuzzServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-fuzz-'));
  const port = await freePort();
  const config = loadServerConfig(
    [
      '--zone',
      'az1',
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      dataDir,
      '--log-level',
      'silent',
      '--tick-ms',
      '20',
      ...args,
    ],
    {},
  );
  let server: ZoneServer;
  try {
    server = await startZoneServer(config, ZONE_API_PLUGINS);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const startMs = performance.now();
    // A stop that hangs says what is still open (and keeps the process up long enough to say it).
    const watchdog = setTimeout(() => {
      const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
      const raft = server.registry.raft.status();
      process.stderr.write(
        `fuzz server stop still pending after 10 s; http listening ${server.app.server.listening}; ` +
          `raft ${JSON.stringify({ conf: raft.conf, role: raft.role, pendingProposals: raft.pendingProposals, pendingReads: raft.pendingReads, transport: raft.transport })}; ` +
          `handles ${handles.map((h) => h.constructor.name).join(',')}\n`,
      );
    }, 10_000);
    await server.close().finally(() => clearTimeout(watchdog));
    rmSync(dataDir, { recursive: true, force: true });
    if (LOG) process.stderr.write(`server stopped in ${Math.round(performance.now() - startMs)} ms\n`);
  };
  const deadline = Date.now() + 10_000;
  while (!server.registry.isLeader) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the single node did not become leader');
    }
    await sleep(10);
  }
  return { server, port, url: `http://127.0.0.1:${port}`, stop };
}

// -----------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a real socket
// -----------------------------------------------------------------------------------------------

export interface RawAnswer {
  readonly status: number;
  /** Lower-cased names; the last value of a repeated header. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawRequest {
  readonly method: string;
  /** The request target exactly as sent (may hold bytes a URL may not). */
  readonly path: string;
  /** Extra header lines, name and value as sent. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: string | Buffer;
}

/** The request's bytes: Host, Connection: close and Content-Length (when there is a body) added. */
export function requestBytes(req: RawRequest): Buffer {
  const body = req.body === undefined ? null : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  const lines = [`${req.method} ${req.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of req.headers ?? []) lines.push(`${k}: ${v}`);
  if (body) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return body ? Buffer.concat([head, body]) : head;
}

/**
 * Sends `bytes` on a new connection and reads until the server closes it. Resolves null when the
 * server closed without answering; rejects when nothing came back within `timeoutMs` (a hang).
 */
export async function rawExchange(
  port: number,
  bytes: Buffer,
  opts: { timeoutMs?: number; localAddress?: string } = {},
  what = JSON.stringify(bytes.subarray(0, 300).toString('latin1')),
): Promise<RawAnswer | null> {
  const startMs = performance.now();
  const answer = await exchange(port, bytes, opts);
  if (LOG) {
    const ms = Math.round(performance.now() - startMs);
    const said = JSON.stringify(answer?.body.slice(0, 100) ?? '');
    process.stderr.write(`${answer?.status ?? 'closed'} ${ms}ms ${what.slice(0, 300)} -> ${said}\n`);
  }
  return answer;
}

function exchange(
  port: number,
  bytes: Buffer,
  opts: { timeoutMs?: number; localAddress?: string },
): Promise<RawAnswer | null> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))}`),
      );
    }, timeoutMs);
    // Not end(): Node's server drops a request whose client half-closes before the answer.
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d) => {
      chunks.push(d);
      // An accepted WebSocket upgrade stays open: its 101 is the whole answer here.
      const all = Buffer.concat(chunks);
      if (all.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101' && all.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => {}); // a reset after the answer is still an answer; 'close' decides
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      resolve(all.length === 0 ? null : parseAnswer(all));
    });
  });
}

export function rawRequest(
  port: number,
  req: RawRequest,
  opts: { timeoutMs?: number; localAddress?: string } = {},
): Promise<RawAnswer | null> {
  return rawExchange(port, requestBytes(req), opts, describeRequest(req));
}

/** Parses one HTTP/1.1 answer (Content-Length or chunked body). */
export function parseAnswer(received: Buffer): RawAnswer {
  let all = received;
  // Interim answers (100 Continue) come first; 101 Switching Protocols is final.
  while (/^HTTP\/1\.[01] 1(?!01)\d\d/.test(all.subarray(0, 16).toString('latin1'))) {
    const interimEnd = all.indexOf('\r\n\r\n');
    if (interimEnd < 0) break;
    all = all.subarray(interimEnd + 4);
  }
  const end = all.indexOf('\r\n\r\n');
  assert.ok(end > 0, `not an HTTP answer: ${JSON.stringify(all.subarray(0, 200).toString('latin1'))}`);
  const [statusLine, ...headerLines] = all.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  assert.ok(m, `bad status line: ${statusLine}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = all.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

// -----------------------------------------------------------------------------------------------
// The property of every answer
// -----------------------------------------------------------------------------------------------

/** Statuses Node's HTTP parser answers by itself, before any route runs (with an empty body). */
const PARSER_STATUSES = new Set<number>([]);

export type AnswerStyle = 'cairn' | 'nacos';

/**
 * The answer is a success or a 4xx; a 4xx is a cairn refusal `{code, message}` whose code maps to
 * that status, a Nacos refusal (plain text), or one of Node's own parser refusals (empty body).
 * Returns true when the request was refused.
 */
export function assertWellFormed(
  answer: RawAnswer | null,
  style: AnswerStyle,
  what: string,
  opts: { head?: boolean } = {},
): boolean {
  assert.ok(answer !== null, `${what}: the server closed the connection without an answer`);
  const { status, headers, body } = answer;
  assert.ok((status >= 200 || status === 101) && status < 500, `${what}: status ${status}: ${body.slice(0, 500)}`);
  if (status < 400) return false;
  // An answer to HEAD has the headers of the answer to GET and no body.
  if (opts.head) return true;
  const type = headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    assert.equal(typeof parsed.code, 'string', `${what}: refusal without a code: ${body.slice(0, 300)}`);
    assert.equal(typeof parsed.message, 'string', `${what}: refusal without a message: ${body.slice(0, 300)}`);
    assert.ok((parsed.message as string).length > 0, `${what}: empty message`);
    const expected = ERROR_CODES[parsed.code as ErrorCode];
    assert.equal(expected, status, `${what}: code ${String(parsed.code)} answered with status ${status}`);
    return true;
  }
  if (style === 'nacos' && type.startsWith('text/plain')) {
    assert.ok(body.length > 0, `${what}: a Nacos refusal without text`);
    return true;
  }
  assert.ok(
    PARSER_STATUSES.has(status) && body.length === 0,
    `${what}: status ${status} with content-type '${type}': ${body.slice(0, 300)}`,
  );
  return true;
}

/** /healthz still answers 200 over a new connection; with `server`, the zone still has its quorum. */
export async function assertAlive(port: number, server?: ZoneServer): Promise<void> {
  const a = await rawRequest(port, { method: 'GET', path: '/healthz' }, { timeoutMs: 5000 });
  assert.equal(a?.status, 200, 'the server stopped answering /healthz');
  if (server) await server.registry.barrier();
}

// -----------------------------------------------------------------------------------------------
// State digests
// -----------------------------------------------------------------------------------------------

/**
 * What clients put in the registry, read through its public reads, each entry with the moment from
 * which background duties may remove it (ephemeral instances whose lease may have run out; session
 * instances, which end with their session, always). Left out of each entry: what those duties change
 * on their own (health, timestamps, revisions).
 */
export function stateEntries(state: RegistryState): Map<string, number> {
  const out = new Map<string, number>();
  for (const ns of state.listNamespaces()) out.set(`ns ${JSON.stringify(ns)}`, Number.POSITIVE_INFINITY);
  for (const svc of state.listServices()) {
    out.set(`svc ${JSON.stringify({ ...svc, revision: 0, createdAt: 0 })}`, Number.POSITIVE_INFINITY);
  }
  for (const i of state.allInstances()) {
    const text = JSON.stringify({ ...i, healthy: null, updatedAt: 0, registeredAt: 0, revision: 0 });
    out.set(`inst ${text}`, mayVanishFromMs(i));
  }
  for (const [zone, weight] of state.listZoneWeights()) out.set(`zw ${zone}=${weight}`, Number.POSITIVE_INFINITY);
  return out;
}

function mayVanishFromMs(i: Instance): number {
  if (!i.ephemeral) return Number.POSITIVE_INFINITY;
  // Session leases end with their session: the session suites check those themselves.
  if (i.lease?.kind === 'session') return 0;
  return i.registeredAt + i.heartbeat.expireAfterMs;
}

/** A digest of the entries that nothing but a client can have changed by `asOfMs`. */
export function stateDigest(entries: ReadonlyMap<string, number>, asOfMs: number): string {
  const kept = [...entries].filter(([, fromMs]) => fromMs > asOfMs + 1000).map(([text]) => text);
  return createHash('sha256').update(kept.sort().join('\n')).digest('hex');
}

/**
 * Runs `request`; when `refused(result)` says it was refused, asserts the registry is unchanged.
 * The comparison waits for nothing: a refused write must not have been proposed at all.
 */
export async function refusalLeavesStateAlone<T>(
  server: ZoneServer,
  request: () => Promise<T>,
  refused: (result: T) => boolean,
  what: string,
): Promise<T> {
  const before = stateEntries(server.registry.state);
  const result = await request();
  if (refused(result)) {
    const now = Date.now();
    const after = stateEntries(server.registry.state);
    if (stateDigest(after, now) !== stateDigest(before, now)) {
      const gone = [...before.keys()].filter((k) => !after.has(k));
      const added = [...after.keys()].filter((k) => !before.has(k));
      assert.fail(
        `${what}: a refused request changed the registry; gone ${gone.slice(0, 3)}; added ${added.slice(0, 3)}`,
      );
    }
  }
  return result;
}

// -----------------------------------------------------------------------------------------------
// Small things
// -----------------------------------------------------------------------------------------------

export function describeRequest(req: RawRequest): string {
  const body = req.body === undefined ? '' : ` body=${JSON.stringify(String(req.body).slice(0, 300))}`;
  return `${req.method} ${JSON.stringify(req.path.slice(0, 300))}${body}`;
}

export { sleep };
