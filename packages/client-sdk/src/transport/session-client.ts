import type { Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../clock.js';
import { CairnSdkError } from '../errors.js';
import type { Instance } from '../instance.js';
import type { Logger } from '../logger.js';
import {
  CLOSE_CODES,
  type InstanceRef,
  parseSessionMessage,
  SESSION_PATH,
  type SessionInstance,
  type SessionRequest,
  type SessionServerMessage,
} from '../wire/messages.js';
import { isAuthRefusal, JsonSocket } from './json-socket.js';
import { ReconnectPause } from './reconnect-pause.js';
import { type ReplicaSet, wsUrl } from './replica-set.js';

/** An instance this process keeps registered under its session (the protocol's, defaults applied). */
export type SessionInstanceSpec = SessionInstance;

export interface SessionClientOptions {
  readonly replicas: ReplicaSet;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly headers: Record<string, string>;
  /** Carries the socket (TLS trust for wss://); undefined: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher | undefined;
  /** The lease TTL: how long the registry keeps the instances after the last keepalive (default 3000). */
  readonly ttlMs: number;
  readonly connectTimeoutMs: number;
  /** How long a register or deregister may take, reconnections included (default 10000). */
  readonly requestTimeoutMs: number;
}

export interface SessionStatus {
  readonly sessionId: string | null;
  readonly replica: string | null;
  readonly node: string | null;
  readonly open: boolean;
  /** Sessions opened (1 + re-registrations after an expiry). */
  readonly opened: number;
  readonly resumed: number;
  readonly expired: number;
  readonly moves: number;
}

interface Pending {
  readonly reqId: number;
  /** The instance a register is for (re-registrations are not queued twice). */
  readonly key: string | undefined;
  readonly message: SessionRequest;
  readonly resolve: (m: SessionServerMessage) => void;
  readonly reject: (e: Error) => void;
  readonly timer: TimerHandle;
  sent: boolean;
}

/**
 * The process's lease on the zone registry: one session over one WebSocket to any replica, kept
 * alive by keepalives (every frame renews it). When the replica goes (socket closed, or silent for
 * half the TTL, or without a leader) the session resumes on another replica well inside its TTL, so
 * the instances never flap. When the registry has expired it (a partition longer than the TTL), a
 * new session is opened and every instance registered again. `close()` ends the session, which
 * removes every instance in one revision.
 */
export class SessionClient {
  private socket: JsonSocket | null = null;
  private replica: string | null = null;
  private node: string | null = null;
  private sessionId: string | null = null;
  private isOpen = false;
  private keepaliveMs = 1000;
  private readonly specs = new Map<string, SessionInstanceSpec>();
  private readonly pending = new Map<number, Pending>();
  private reqSeq = 0;
  private keepaliveTimer: TimerHandle | null = null;
  private openTimer: TimerHandle | null = null;
  private lastAliveMs = 0;
  private leaderlessAlives = 0;
  private closing = false;
  private closed = false;
  private running: Promise<void> | null = null;
  private readonly counts = { opened: 0, resumed: 0, expired: 0, moves: 0 };
  private onClosedAnswer: () => void = () => {};
  private closeWhenOpen = false;
  /** The last refusal logged (each distinct one is logged once). */
  private lastRefusal: string | null = null;
  /** Called with every registered instance the registry answers with (after re-registrations too). */
  onRegistered: (inst: Instance) => void = () => {};

  private readonly reconnectPause: ReconnectPause;

  constructor(private readonly opts: SessionClientOptions) {
    this.reconnectPause = new ReconnectPause(opts.clock);
  }

  get status(): SessionStatus {
    return {
      sessionId: this.sessionId,
      replica: this.replica,
      node: this.node,
      open: this.isOpen,
      ...this.counts,
    };
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Registers (or updates) an instance; it is kept registered until deregistered or closed. */
  async register(spec: SessionInstanceSpec): Promise<Instance> {
    this.ensureUsable();
    this.specs.set(keyOf(spec), spec);
    this.start();
    const answer = await this.request((reqId) => ({ type: 'register', reqId, instance: spec }), keyOf(spec));
    if (answer.type !== 'registered') throw new Error(`unexpected answer ${answer.type}`);
    return answer.instance;
  }

  async deregister(ref: InstanceRef): Promise<void> {
    this.ensureUsable();
    this.specs.delete(keyOf(ref));
    const instance = {
      namespace: ref.namespace,
      group: ref.group,
      service: ref.service,
      cluster: ref.cluster,
      ip: ref.ip,
      port: ref.port,
    };
    await this.request((reqId) => ({ type: 'deregister', reqId, instance }));
  }

  /** Ends the session: the registry removes every instance at once. Bounded by `timeoutMs`. */
  async close(timeoutMs = 3000): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.running !== null && this.sessionId !== null) {
      const done = new Promise<void>((resolve) => {
        const t = this.opts.clock.setTimer(resolve, timeoutMs, true);
        this.onClosedAnswer = () => {
          t.cancel();
          resolve();
        };
      });
      if (this.isOpen) this.send({ type: 'close' });
      else this.closeWhenOpen = true;
      await done;
    }
    this.closed = true;
    this.keepaliveTimer?.cancel();
    this.socket?.close(CLOSE_CODES.NORMAL, 'client closing');
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(new CairnSdkError('CLOSED', 'the registry client was closed'));
    }
    this.pending.clear();
    this.reconnectPause.wake();
    await this.running;
  }

  // -----------------------------------------------------------------------------------------------

  private ensureUsable(): void {
    if (this.closing || this.closed) throw new CairnSdkError('CLOSED', 'the registry client is closed');
  }

  private send(message: SessionRequest): boolean {
    return this.socket?.send(message) ?? false;
  }

  private request(build: (reqId: number) => SessionRequest, key?: string): Promise<SessionServerMessage> {
    const reqId = ++this.reqSeq;
    return new Promise((resolve, reject) => {
      const timer = this.opts.clock.setTimer(
        () => {
          this.pending.delete(reqId);
          reject(new CairnSdkError('TIMEOUT', `no answer from the registry within ${this.opts.requestTimeoutMs} ms`));
        },
        this.opts.requestTimeoutMs,
        true,
      );
      const p: Pending = { reqId, key, message: build(reqId), resolve, reject, timer, sent: false };
      this.pending.set(reqId, p);
      if (this.isOpen) p.sent = this.send(p.message);
    });
  }

  private async run(): Promise<void> {
    const { replicas, clock, logger } = this.opts;
    let avoid: string | undefined;
    while (!this.closed) {
      const url = replicas.take(avoid);
      avoid = undefined;
      let closedPromise!: Promise<void>;
      try {
        let onClosed!: () => void;
        closedPromise = new Promise((resolve) => {
          onClosed = resolve;
        });
        this.socket = await JsonSocket.open(
          wsUrl(url, SESSION_PATH),
          {
            timeoutMs: this.opts.connectTimeoutMs,
            headers: this.opts.headers,
            dispatcher: this.opts.dispatcher,
            now: () => clock.now(),
          },
          { message: (text) => this.onMessage(text), close: () => onClosed() },
        );
      } catch (err) {
        this.socket = null;
        const waitMs = replicas.failed();
        if (isAuthRefusal(err)) this.refused(err);
        else logger.debug({ replica: url, err: String(err), waitMs }, 'session: cannot connect');
        await this.pause(waitMs);
        continue;
      }
      if (this.closed) {
        this.socket.close();
        break;
      }
      this.replica = url;
      await closedPromise;
      const helloed = this.node !== null;
      this.openTimer?.cancel();
      const wasOpen = this.isOpen;
      this.isOpen = false;
      this.socket = null;
      this.node = null;
      this.keepaliveTimer?.cancel();
      for (const p of this.pending.values()) p.sent = false;
      if (this.closed || (this.closing && this.sessionId === null)) break;
      if (wasOpen) this.counts.moves++;
      avoid = url;
      // Leaving a replica that said hello is not a failure to reach one: no backoff for it.
      await this.pause(wasOpen || helloed ? 0 : replicas.failed());
    }
  }

  private pause(ms: number): Promise<void> {
    return this.closed ? Promise.resolve() : this.reconnectPause.wait(ms);
  }

  /**
   * The registry refused the credentials: the requests waiting for a session fail now with that
   * reason (logged once), rather than time out; the client keeps trying, as the auth file may change.
   */
  private refused(err: CairnSdkError): void {
    if (this.lastRefusal !== err.message)
      this.opts.logger.error({ err: err.message }, 'session: refused by the registry');
    this.lastRefusal = err.message;
    for (const p of this.pending.values()) {
      p.timer.cancel();
      if (p.key !== undefined) this.specs.delete(p.key);
      p.reject(err);
    }
    this.pending.clear();
  }

  private onMessage(text: string): void {
    let msg: SessionServerMessage | null;
    try {
      msg = parseSessionMessage(text);
    } catch (err) {
      this.opts.logger.warn({ err: String(err) }, 'session: malformed message ignored');
      return;
    }
    if (msg === null) return;
    switch (msg.type) {
      case 'hello':
        this.node = msg.node;
        this.opts.replicas.succeeded();
        this.sendOpen();
        return;
      case 'opened':
        this.opened(msg.sessionId, msg.keepaliveMs, msg.resumed);
        return;
      case 'expired':
        this.opts.logger.warn(
          { sessionId: msg.sessionId, message: msg.message },
          'session: expired, registering again',
        );
        this.counts.expired++;
        this.sessionId = null;
        this.isOpen = false;
        this.keepaliveTimer?.cancel();
        if (this.closing) {
          this.onClosedAnswer();
          return;
        }
        this.sendOpen();
        return;
      case 'alive':
        this.lastAliveMs = this.opts.clock.now();
        this.leaderlessAlives = msg.leader ? 0 : this.leaderlessAlives + 1;
        return;
      case 'registered':
        this.onRegistered(msg.instance);
        this.answer(msg.reqId, msg);
        return;
      case 'deregistered':
        this.answer(msg.reqId, msg);
        return;
      case 'closed':
        this.sessionId = null;
        this.isOpen = false;
        this.onClosedAnswer();
        return;
      case 'error':
        this.onError(msg.code, msg.message, msg.reqId);
        return;
    }
  }

  /**
   * Opens (or resumes) the session on this socket. A replica that cannot answer soon (it waits for
   * a leader it has lost, say) is left for another one: resuming must happen well inside the TTL.
   */
  private sendOpen(): void {
    this.openTimer?.cancel();
    this.send({ type: 'open', ttlMs: this.opts.ttlMs, ...(this.sessionId ? { sessionId: this.sessionId } : {}) });
    const waitMs = Math.min(2000, Math.max(300, Math.floor(this.opts.ttlMs / 4)));
    const socket = this.socket;
    this.openTimer = this.opts.clock.setTimer(() => {
      this.openTimer = null;
      if (this.isOpen || this.socket !== socket || socket === null) return;
      this.opts.logger.warn({ replica: this.replica, waitMs }, 'session: no answer to open, trying another replica');
      socket.close(CLOSE_CODES.NORMAL, 'moving');
    }, waitMs);
  }

  private opened(sessionId: string, keepaliveMs: number, resumed: boolean): void {
    this.openTimer?.cancel();
    this.openTimer = null;
    const fresh = !resumed;
    this.sessionId = sessionId;
    this.isOpen = true;
    this.keepaliveMs = Math.max(100, keepaliveMs);
    this.lastAliveMs = this.opts.clock.now();
    this.leaderlessAlives = 0;
    if (resumed) this.counts.resumed++;
    else this.counts.opened++;
    this.opts.logger.info({ sessionId, replica: this.replica, node: this.node, resumed }, 'session: open');
    if (this.closeWhenOpen) {
      this.send({ type: 'close' });
      return;
    }
    // A new session holds nothing: register every instance again, first, before pending requests.
    if (fresh) {
      const queued = new Set([...this.pending.values()].map((p) => p.key));
      for (const [key, spec] of this.specs) {
        if (queued.has(key)) continue;
        const reqId = ++this.reqSeq;
        this.reregister({ type: 'register', reqId, instance: spec }, reqId, key);
      }
    }
    for (const p of this.pending.values()) if (!p.sent) p.sent = this.send(p.message);
    this.scheduleKeepalive();
  }

  /** A re-registration nobody awaits; its failure is logged and retried by the next expiry. */
  private reregister(message: SessionRequest, reqId: number, key: string): void {
    const timer = this.opts.clock.setTimer(() => this.pending.delete(reqId), this.opts.requestTimeoutMs);
    const p: Pending = {
      reqId,
      key,
      message,
      resolve: () => {},
      reject: (e) => this.opts.logger.warn({ err: String(e) }, 'session: re-registration failed'),
      timer,
      sent: false,
    };
    this.pending.set(reqId, p);
  }

  /**
   * Sends a keepalive every `keepaliveMs` and watches for silence more often than that: a replica
   * silent for half the TTL (or 1.5 keepalive intervals, if shorter), or without a leader for three
   * answers, is left for another one while the lease still holds.
   */
  private scheduleKeepalive(): void {
    this.keepaliveTimer?.cancel();
    let lastSentMs = this.opts.clock.now();
    const checkMs = Math.max(25, Math.floor(this.keepaliveMs / 4));
    const silentMsMax = Math.min(this.opts.ttlMs / 2, this.keepaliveMs * 1.5);
    const tick = (): void => {
      const s = this.socket;
      if (!this.isOpen || s === null || this.closed) return;
      const nowMs = this.opts.clock.now();
      const silentMs = nowMs - Math.max(this.lastAliveMs, s.heardAtMs);
      if (silentMs > silentMsMax || this.leaderlessAlives >= 3) {
        this.opts.logger.warn(
          { replica: this.replica, silentMs, leaderlessAlives: this.leaderlessAlives },
          'session: moving to another replica',
        );
        s.close(CLOSE_CODES.NORMAL, 'moving');
        return;
      }
      if (nowMs - lastSentMs >= this.keepaliveMs) {
        this.send({ type: 'keepalive' });
        lastSentMs = nowMs;
      }
      this.keepaliveTimer = this.opts.clock.setTimer(tick, checkMs);
    };
    this.keepaliveTimer = this.opts.clock.setTimer(tick, checkMs);
  }

  private answer(reqId: number, msg: SessionServerMessage): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    this.pending.delete(reqId);
    p.timer.cancel();
    p.resolve(msg);
  }

  private onError(code: string, message: string, reqId: number | undefined): void {
    if (reqId === undefined) {
      this.opts.logger.warn({ code, message, replica: this.replica }, 'session: registry error');
      // A refused open (no leader here, a timeout): try another replica at once.
      if (!this.isOpen) this.socket?.close(CLOSE_CODES.NORMAL, 'moving');
      return;
    }
    const p = this.pending.get(reqId);
    if (!p) return;
    // The session went away under the request: it is sent again once a new session is open.
    if (code === 'NOT_FOUND' && p.message.type === 'register') {
      p.sent = false;
      return;
    }
    // Retry on another replica where this one cannot serve writes just now.
    if (code === 'NO_LEADER' || code === 'UNAVAILABLE' || code === 'TIMEOUT') {
      p.sent = false;
      this.opts.clock.setTimer(() => {
        if (this.pending.has(reqId) && this.isOpen && !p.sent) p.sent = this.send(p.message);
      }, 200);
      return;
    }
    this.pending.delete(reqId);
    p.timer.cancel();
    p.reject(new CairnSdkError('REGISTRY_REFUSED', `${code}: ${message}`, { registryCode: code }));
  }
}

function keyOf(r: InstanceRef): string {
  return `${r.namespace}/${r.group}/${r.service}/${r.cluster}/${r.ip}:${r.port}`;
}
