// A small `ws` client for the push protocol in tests: it parses every server message with the shared
// zod schemas (a message that does not parse fails the test), keeps them in order, and lets a test
// take them one by one or wait for one.
import WebSocket from 'ws';
import type { ZodType } from 'zod';
import {
  type SessionClientMessageInput,
  type SessionServerMessage,
  sessionServerMessageSchema,
  type WatchClientMessageInput,
  type WatchServerMessage,
  type WireChange,
  type WireInstance,
  watchServerMessageSchema,
} from '../../../src/protocol/index.js';

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export class PushClient<M extends { type: string }, C> {
  readonly messages: M[] = [];
  /** Messages before this index are all taken; `taken` holds the ones taken after it. */
  private cursor = 0;
  private readonly taken = new Set<number>();
  private readonly listeners = new Set<() => void>();
  readonly closed: Promise<Closed>;
  private closedWith: Closed | null = null;

  private constructor(
    readonly ws: WebSocket,
    private readonly schema: ZodType<M>,
  ) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        this.notify();
      }),
    );
    ws.on('message', (data) => {
      const parsed = this.schema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) throw new Error(`server message does not match the protocol: ${parsed.error.message}`);
      this.messages.push(parsed.data);
      this.notify();
    });
    ws.on('error', () => {});
  }

  static async connect<M extends { type: string }, C>(
    url: string,
    schema: ZodType<M>,
    options: WebSocket.ClientOptions = {},
  ): Promise<PushClient<M, C>> {
    const ws = new WebSocket(url, options);
    const client = new PushClient<M, C>(ws, schema);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode })),
      );
    });
    return client;
  }

  send(message: C): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The first message not taken yet that matches, waiting for it if need be. */
  async take<T extends M>(match: (m: M) => m is T, timeoutMs?: number): Promise<T>;
  async take(match: (m: M) => boolean, timeoutMs?: number): Promise<M>;
  async take(match: (m: M) => boolean, timeoutMs = 10_000): Promise<M> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.messages.length; i++) {
        const m = this.messages[i]!;
        if (this.taken.has(i) || !match(m)) continue;
        this.taken.add(i);
        while (this.taken.has(this.cursor)) this.taken.delete(this.cursor++);
        return m;
      }
      if (this.closedWith) throw new Error(`socket closed (${this.closedWith.code} ${this.closedWith.reason})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${this.describe()}`);
      await this.changed(left);
    }
  }

  /** Waits until `check` holds (re-evaluated on each message). */
  async until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} not reached within ${timeoutMs} ms; got ${this.describe()}`);
      await this.changed(Math.min(left, 100));
    }
  }

  close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    return this.closed;
  }

  /** Drops the connection without a close handshake, as a crashed client would. */
  terminate(): Promise<Closed> {
    this.ws.terminate();
    return this.closed;
  }

  private describe(): string {
    return this.messages
      .slice(-5)
      .map((m) => JSON.stringify(m).slice(0, 300))
      .join('\n');
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.listeners.add(done);
    });
  }
}

export type WatchClient = PushClient<WatchServerMessage, WatchClientMessageInput>;
export type SessionClient = PushClient<SessionServerMessage, SessionClientMessageInput>;

export function connectWatch(baseUrl: string, options?: WebSocket.ClientOptions): Promise<WatchClient> {
  return PushClient.connect(`${wsUrl(baseUrl)}/v1/watch`, watchServerMessageSchema, options);
}

export function connectSession(baseUrl: string, options?: WebSocket.ClientOptions): Promise<SessionClient> {
  return PushClient.connect(`${wsUrl(baseUrl)}/v1/session`, sessionServerMessageSchema, options);
}

function wsUrl(baseUrl: string): string {
  return baseUrl.replace(/^http/, 'ws');
}

export const is =
  <T extends string>(type: T, sub?: string) =>
  <M extends { type: string }>(m: M): m is Extract<M, { type: T }> =>
    m.type === type && (sub === undefined || (m as { sub?: string }).sub === sub);

/**
 * A client's view of one subscription, built only from what the socket said: snapshots replace it,
 * deltas change it. Records every change after the first snapshot, and checks that revisions never go
 * backwards.
 */
export class WatchView {
  readonly instances = new Map<string, WireInstance>();
  /** Every change received by delta, in order. */
  readonly changes: WireChange[] = [];
  revision = 0;
  snapshots = 0;
  resyncs = 0;
  private pending = new Map<string, WireInstance>();
  private seen = 0;

  constructor(
    readonly client: WatchClient,
    readonly sub: string,
  ) {}

  /** A view that continues `from` on another socket (which resumes from `from.revision`). */
  static continuing(from: WatchView, client: WatchClient, sub: string): WatchView {
    const v = new WatchView(client, sub);
    for (const [id, i] of from.instances) v.instances.set(id, i);
    v.revision = from.revision;
    return v;
  }

  /** Applies every message received so far. */
  sync(): this {
    const msgs = this.client.messages;
    for (; this.seen < msgs.length; this.seen++) this.apply(msgs[this.seen]!);
    return this;
  }

  async until(check: (v: WatchView) => boolean, timeoutMs = 10_000, what = 'view condition'): Promise<void> {
    await this.client.until(() => check(this.sync()), timeoutMs, what);
  }

  instanceChanges(): Extract<WireChange, { kind: 'instance' }>[] {
    return this.changes.filter((c): c is Extract<WireChange, { kind: 'instance' }> => c.kind === 'instance');
  }

  private apply(m: WatchServerMessage): void {
    if ('sub' in m && m.sub !== this.sub) return;
    switch (m.type) {
      case 'snapshot':
        if (m.part === 0) this.pending = new Map();
        for (const i of m.instances) this.pending.set(i.id, i);
        if (m.last) {
          this.instances.clear();
          for (const [id, i] of this.pending) this.instances.set(id, i);
          this.setRevision(m.revision, true);
          this.snapshots++;
        }
        return;
      case 'delta':
        for (const c of m.changes) {
          if (c.revision <= this.revision) throw new Error(`change at ${c.revision} after ${this.revision}`);
          this.changes.push(c);
          if (c.kind !== 'instance') continue;
          if (c.action === 'put') this.instances.set(c.instance.id, c.instance);
          else this.instances.delete(c.instance.id);
        }
        this.setRevision(m.revision, false);
        return;
      case 'progress':
        this.setRevision(m.revision, false);
        return;
      case 'resync':
        this.resyncs++;
        return;
      default:
        return;
    }
  }

  private setRevision(revision: number, snapshot: boolean): void {
    if (!snapshot && revision < this.revision)
      throw new Error(`revision went back from ${this.revision} to ${revision}`);
    this.revision = Math.max(this.revision, revision);
  }
}

/** Sends `keepalive` every `intervalMs` until the returned function is called. */
export function keepAlive(client: SessionClient, intervalMs: number): () => void {
  const timer = setInterval(() => {
    if (client.ws.readyState === client.ws.OPEN) client.send({ type: 'keepalive' });
  }, intervalMs);
  return () => clearInterval(timer);
}

/** Opens a session on `baseUrl`; returns the socket and what `opened` said. */
export async function openSession(
  baseUrl: string,
  open: { ttlMs?: number; sessionId?: string } = {},
): Promise<{ client: SessionClient; opened: Extract<SessionServerMessage, { type: 'opened' }> }> {
  const client = await connectSession(baseUrl);
  client.send({ type: 'open', ...open });
  const answer = await client.take((m) => m.type === 'opened' || m.type === 'expired' || m.type === 'error');
  if (answer.type !== 'opened') throw new Error(`open answered ${JSON.stringify(answer)}`);
  return { client, opened: answer };
}

/** Registers through a session socket and waits for the answer. */
export async function registerVia(
  client: SessionClient,
  reqId: number,
  instance: { service: string; ip: string; port: number },
): Promise<Extract<SessionServerMessage, { type: 'registered' }>> {
  client.send({ type: 'register', reqId, instance });
  const answer = await client.take(
    (m) => (m.type === 'registered' || m.type === 'error') && (m as { reqId?: number }).reqId === reqId,
  );
  if (answer.type !== 'registered') throw new Error(`register answered ${JSON.stringify(answer)}`);
  return answer;
}
