// WebSocket fuzzing shared by the zone's push sockets and the federation's watch: a client that
// records and validates every server message, hostile watch frames, and the watch property itself.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import type { ZodType } from 'zod';
import { DEFAULT_PUSH_LIMITS } from '../../src/api/watch/push-limits.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import {
  brokenJsonText,
  hostileNumber,
  JObj,
  type JValue,
  jsonText,
  jsonValueArb,
  nameValueArb,
  rarely,
} from './fuzz-arbitraries.js';

/** One frame a client sends. */
export type Frame =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array }
  | { readonly kind: 'oversize'; readonly bytes: number };

export interface Msg {
  readonly type: string;
  readonly code?: string;
  readonly sub?: string;
  readonly reqId?: number;
  readonly [k: string]: unknown;
}

/** A socket that records every server message (each must parse with the protocol's schema). */
export class FuzzSocket {
  readonly messages: Msg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  closedWith: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    schema: ZodType,
    /** Message types accepted without the schema (the federation's `zones`). */
    extraTypes: readonly string[],
  ) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        this.wake();
      }),
    );
    ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'the server sent a binary frame');
      const raw = JSON.parse(data.toString()) as { type?: unknown };
      if (typeof raw.type === 'string' && extraTypes.includes(raw.type)) {
        this.messages.push(raw as Msg);
        this.wake();
        return;
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        this.messages.push({ type: 'UNPARSEABLE', raw: data.toString().slice(0, 300), error: parsed.error.message });
      } else this.messages.push(parsed.data as Msg);
      this.wake();
    });
    ws.on('error', () => {});
  }

  static async open(
    url: string,
    schema: ZodType,
    opts: { extraTypes?: readonly string[]; localAddress?: string } = {},
  ): Promise<FuzzSocket> {
    const ws = new WebSocket(url, {
      maxPayload: 64 * 1024 * 1024,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const s = new FuzzSocket(ws, schema, opts.extraTypes ?? []);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return s;
  }

  send(frame: Frame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (frame.kind === 'text') this.ws.send(frame.text);
    else if (frame.kind === 'binary') this.ws.send(frame.bytes, { binary: true });
    else this.ws.send('x'.repeat(frame.bytes));
  }

  /** Resolves once `pred` holds over the messages, or the socket closes; throws after `timeoutMs`. */
  async until(pred: (ms: readonly Msg[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages) && this.closedWith === null) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(this.messages.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Every message parsed, and every error carries a stable code. */
export function assertProtocol(messages: readonly Msg[], what: string): void {
  for (const m of messages) {
    assert.notEqual(
      m.type,
      'UNPARSEABLE',
      `${what}: a server message does not match the protocol: ${JSON.stringify(m)}`,
    );
    if (m.type === 'error') {
      assert.ok(
        m.code !== undefined && ERROR_CODES[m.code as ErrorCode] !== undefined,
        `${what}: error code ${m.code}`,
      );
      assert.ok(ERROR_CODES[m.code as ErrorCode] < 500, `${what}: a server-side error: ${JSON.stringify(m)}`);
    }
  }
}

// -----------------------------------------------------------------------------------------------
// Frames
// -----------------------------------------------------------------------------------------------

export const garbage: fc.Arbitrary<Frame> = fc.oneof(
  brokenJsonText.map((text) => ({ kind: 'text', text }) as const),
  fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: 'binary', bytes }) as const),
  jsonValueArb(['type', 'sub', 'reqId', 'services', 'instance', 'all']).map(
    (v) => ({ kind: 'text', text: jsonText(v) }) as const,
  ),
  fc
    .constantFrom('hello', 'ping', 'pong', 'register', '__proto__', '')
    .map((type) => ({ kind: 'text', text: JSON.stringify({ type, sub: 's', reqId: 1 }) }) as const),
);

export const serviceRef = fc.record({
  namespace: nameValueArb(['public', 'sz']),
  group: nameValueArb(['DEFAULT_GROUP']),
  service: nameValueArb(['sz-svc', 'sz-other']),
});

export const subId = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'x'.repeat(129), '', ' ', 'ü'),
  fc.string({ maxLength: 8 }),
);

export const subscribe: fc.Arbitrary<Frame> = fc
  .record({
    sub: subId,
    shape: fc.constantFrom('all', 'services', 'both', 'neither'),
    services: fc.array(serviceRef, { minLength: 0, maxLength: 5 }),
    fromRevision: rarely(fc.oneof(fc.nat(20), hostileNumber), 3),
  })
  .map(({ sub, shape, services, fromRevision }) => {
    const entries: [string, JValue][] = [
      ['type', 'subscribe'],
      ['sub', sub],
    ];
    if (shape === 'all' || shape === 'both') entries.push(['all', true]);
    if (shape === 'services' || shape === 'both')
      entries.push(['services', services.map((s) => new JObj(Object.entries(s)))]);
    if (fromRevision !== null) entries.push(['fromRevision', fromRevision]);
    return { kind: 'text', text: jsonText(new JObj(entries)) } as const;
  });

export const unsubscribe: fc.Arbitrary<Frame> = subId.map(
  (sub) => ({ kind: 'text', text: JSON.stringify({ type: 'unsubscribe', sub }) }) as const,
);

export const watchFrame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 4, arbitrary: subscribe },
  { weight: 2, arbitrary: unsubscribe },
  { weight: 3, arbitrary: garbage },
);

/** A few frames; now and then one over the frame bound or a flood. */
export const watchSequence = fc.record({
  frames: fc.array(watchFrame, { minLength: 1, maxLength: 8 }),
  flood: rarely(fc.integer({ min: 1, max: 300 }), 5),
  oversize: rarely(
    fc.integer({ min: DEFAULT_PUSH_LIMITS.frameBytesMax + 1, max: DEFAULT_PUSH_LIMITS.frameBytesMax * 2 }),
    10,
  ),
});

export type WatchSequence = typeof watchSequence extends fc.Arbitrary<infer T> ? T : never;

/**
 * The watch property for one sequence: after hello, the frames, a flood of subscribes and perhaps an
 * oversize frame; then a sentinel that must be answered in order (or the 1009 close); every message
 * in the protocol; a flood past the subscription bound refused with RATE_LIMITED.
 */
export async function checkWatchSequence(
  url: string,
  schema: ZodType,
  { frames, flood, oversize }: WatchSequence,
  opts: { extraTypes?: readonly string[]; subscriptionsMax?: number } = {},
): Promise<void> {
  const sock = await FuzzSocket.open(url, schema, opts);
  try {
    await sock.until((ms) => ms.some((m) => m.type === 'hello'), 5000, 'hello');
    for (const f of frames) sock.send(f);
    for (let i = 0; i < (flood ?? 0); i++) {
      sock.send({ kind: 'text', text: JSON.stringify({ type: 'subscribe', sub: `flood-${i}`, all: true }) });
    }
    if (oversize !== null) sock.send({ kind: 'oversize', bytes: oversize });
    // A sentinel, answered in order after everything sent before it.
    sock.send({ kind: 'text', text: JSON.stringify({ type: 'unsubscribe', sub: 'sentinel' }) });
    const what = `watch frames ${JSON.stringify(frames).slice(0, 600)} flood=${flood} oversize=${oversize}`;
    if (oversize !== null) {
      const closed = await Promise.race([sock.closed, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      assert.ok(closed, `${what}: an oversize frame did not close the socket`);
      assert.ok([1009, 1006].includes(closed.code), `${what}: closed with ${closed.code}`);
    } else {
      await sock.until(
        (ms) => ms.some((m) => m.type === 'error' && m.sub === 'sentinel'),
        10_000,
        'the sentinel answer',
      );
      assert.equal(sock.closedWith, null, `${what}: the server closed the socket: ${JSON.stringify(sock.closedWith)}`);
      if ((flood ?? 0) > (opts.subscriptionsMax ?? DEFAULT_PUSH_LIMITS.subscriptionsPerConnectionMax)) {
        assert.ok(
          sock.messages.some((m) => m.type === 'error' && m.code === 'RATE_LIMITED'),
          `${what}: the flood was not bounded`,
        );
      }
    }
    assertProtocol(sock.messages, what);
  } finally {
    sock.close();
  }
}
