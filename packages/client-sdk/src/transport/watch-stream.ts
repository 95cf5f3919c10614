import type { Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../clock.js';
import type { CairnSdkError } from '../errors.js';
import type { Instance } from '../instance.js';
import type { Logger } from '../logger.js';
import type { SourceName } from '../view/disk-cache.js';
import type { ServiceView } from '../view/service-view.js';
import {
  CLOSE_CODES,
  parseWatchMessage,
  WATCH_PATH,
  type WatchRequest,
  type WatchServerMessage,
} from '../wire/messages.js';
import { isAuthRefusal, JsonSocket } from './json-socket.js';
import { ReconnectPause } from './reconnect-pause.js';
import { type ReplicaSet, wsUrl } from './replica-set.js';

export interface WatchStreamOptions {
  readonly source: SourceName;
  readonly replicas: ReplicaSet;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly headers: Record<string, string>;
  /** Carries the socket (TLS trust for wss://); undefined: undici's global dispatcher. */
  readonly dispatcher?: Dispatcher | undefined;
  readonly connectTimeoutMs: number;
  /**
   * A socket silent this long is given up for another replica. The server sends progress at least
   * every 20 s when nothing changes, so this must be above that.
   */
  readonly silenceMs: number;
}

const RETRYABLE_REFUSALS = new Set(['RATE_LIMITED', 'UNAVAILABLE', 'NO_LEADER', 'INTERNAL', 'TIMEOUT']);

interface Sub {
  id: string;
  readonly view: ServiceView;
  state: 'pending' | 'snapshot' | 'live';
  parts: Instance[];
  /** Resubscribe from scratch (a snapshot), not from the view's revision. */
  fresh: boolean;
}

/**
 * The watch WebSocket to one registry (a zone's replicas, or the federation, which speaks the same
 * protocol): one socket, one subscription per watched service. Snapshots replace a view, deltas
 * change it, progress advances its revision. When the socket is lost the views are kept (stale) and
 * the stream moves to another replica, resuming every subscription from its revision.
 */
export class WatchStream {
  private socket: JsonSocket | null = null;
  private readonly subs = new Map<string, Sub>();
  private readonly byView = new Map<ServiceView, Sub>();
  private seq = 0;
  private closed = false;
  private replica: string | null = null;
  private nodeId: string | null = null;
  private silenceTimer: TimerHandle | null = null;
  private connectedWaiters: ((connected: boolean) => void)[] = [];
  private running: Promise<void> | null = null;
  /** Whether some replica has answered since the stream started. */
  everConnected = false;
  /** The registry's refusal of the credentials, until a replica accepts them. */
  refusal: CairnSdkError | null = null;

  private readonly reconnectPause: ReconnectPause;

  constructor(private readonly opts: WatchStreamOptions) {
    this.reconnectPause = new ReconnectPause(opts.clock);
  }

  get connected(): boolean {
    return this.socket !== null && this.nodeId !== null;
  }

  /** The replica serving the stream now: its URL and node id. */
  get server(): { url: string; node: string } | null {
    return this.connected ? { url: this.replica!, node: this.nodeId! } : null;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Resolves true once a replica has said hello; false if none did within `timeoutMs`, or one refused the credentials. */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimer(() => resolve(false), timeoutMs, true);
      this.connectedWaiters.push((connected) => {
        timer.cancel();
        resolve(connected);
      });
    });
  }

  add(view: ServiceView): void {
    if (this.byView.has(view)) return;
    const sub: Sub = { id: this.nextId(), view, state: 'pending', parts: [], fresh: false };
    this.subs.set(sub.id, sub);
    this.byView.set(view, sub);
    if (this.connected) this.subscribe(sub);
  }

  remove(view: ServiceView): void {
    const sub = this.byView.get(view);
    if (!sub) return;
    this.byView.delete(view);
    this.subs.delete(sub.id);
    if (sub.state !== 'pending') this.send({ type: 'unsubscribe', sub: sub.id });
  }

  /** The view's stream looks wrong: take a fresh snapshot from another replica. */
  resync(view: ServiceView): void {
    const sub = this.byView.get(view);
    if (!sub) return;
    sub.fresh = true;
    this.moveAway('a fresh read contradicts this replica');
  }

  /** Leaves the current replica for another one (it is gone silent, or lost its leader). */
  moveAway(reason: string): void {
    if (this.socket === null) return;
    this.opts.logger.info(
      { source: this.opts.source, replica: this.replica, reason },
      'watch: moving to another replica',
    );
    this.socket.close(CLOSE_CODES.NORMAL, 'moving');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.silenceTimer?.cancel();
    this.socket?.close(CLOSE_CODES.NORMAL, 'client closing');
    this.reconnectPause.wake();
    await this.running;
  }

  // -----------------------------------------------------------------------------------------------

  private send(message: WatchRequest): boolean {
    return this.socket?.send(message) ?? false;
  }

  private nextId(): string {
    return `s${++this.seq}`;
  }

  private async run(): Promise<void> {
    const { replicas, clock, logger, source } = this.opts;
    let avoid: string | undefined;
    while (!this.closed) {
      const url = replicas.take(avoid);
      avoid = undefined;
      let closedPromise: Promise<void>;
      try {
        let onClosed!: () => void;
        closedPromise = new Promise((resolve) => {
          onClosed = resolve;
        });
        this.socket = await JsonSocket.open(
          wsUrl(url, WATCH_PATH),
          {
            timeoutMs: this.opts.connectTimeoutMs,
            headers: this.opts.headers,
            dispatcher: this.opts.dispatcher,
            now: () => clock.now(),
          },
          {
            message: (text) => this.onMessage(text),
            close: (code, reason) => {
              logger.debug({ source, replica: url, code, reason }, 'watch: socket closed');
              onClosed();
            },
          },
        );
      } catch (err) {
        this.socket = null;
        const waitMs = replicas.failed();
        if (isAuthRefusal(err)) this.refused(err);
        else logger.debug({ source, replica: url, err: String(err), waitMs }, 'watch: cannot connect');
        await this.pause(waitMs);
        continue;
      }
      if (this.closed) {
        this.socket.close();
        break;
      }
      this.replica = url;
      this.armSilenceCheck();
      await closedPromise;
      this.silenceTimer?.cancel();
      const wasConnected = this.nodeId !== null;
      this.socket = null;
      this.nodeId = null;
      if (this.closed) break;
      for (const sub of this.subs.values()) {
        sub.state = 'pending';
        sub.parts = [];
        sub.view.lost(source);
      }
      if (this.closed) break;
      avoid = url;
      const waitMs = wasConnected ? 0 : replicas.failed();
      await this.pause(waitMs);
    }
  }

  /** The registry refused the credentials: say so once, and stop whoever waits for a connection. */
  private refused(err: CairnSdkError): void {
    if (this.refusal?.message !== err.message) {
      this.opts.logger.error({ source: this.opts.source, err: err.message }, 'watch: refused by the registry');
    }
    this.refusal = err;
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    for (const w of waiters) w(false);
  }

  private pause(ms: number): Promise<void> {
    return this.closed ? Promise.resolve() : this.reconnectPause.wait(ms);
  }

  private armSilenceCheck(): void {
    const check = (): void => {
      const s = this.socket;
      if (s === null || this.closed) return;
      if (this.opts.clock.now() - s.heardAtMs > this.opts.silenceMs) {
        this.moveAway(`nothing heard for ${this.opts.silenceMs} ms`);
        return;
      }
      this.silenceTimer = this.opts.clock.setTimer(check, Math.max(100, this.opts.silenceMs / 4));
    };
    this.silenceTimer = this.opts.clock.setTimer(check, Math.max(100, this.opts.silenceMs / 4));
  }

  private subscribe(sub: Sub): void {
    const view = sub.view;
    const from = sub.fresh ? undefined : view.resumeRevision(this.opts.source);
    sub.fresh = false;
    sub.id = this.resubscribeId(sub);
    sub.state = 'snapshot';
    sub.parts = [];
    this.send({
      type: 'subscribe',
      sub: sub.id,
      services: [{ namespace: view.ref.namespace, group: view.ref.group, service: view.ref.service }],
      ...(from !== undefined ? { fromRevision: from } : {}),
    });
  }

  /** A new id for every subscription made, so late messages of an old one are never mistaken. */
  private resubscribeId(sub: Sub): string {
    this.subs.delete(sub.id);
    const id = this.nextId();
    this.subs.set(id, sub);
    return id;
  }

  private onMessage(text: string): void {
    let msg: WatchServerMessage | null;
    try {
      msg = parseWatchMessage(text);
    } catch (err) {
      this.opts.logger.warn({ source: this.opts.source, err: String(err) }, 'watch: malformed message ignored');
      return;
    }
    if (msg === null) return;
    const { source } = this.opts;
    switch (msg.type) {
      case 'hello': {
        this.nodeId = msg.node;
        this.everConnected = true;
        this.refusal = null;
        this.opts.replicas.succeeded();
        // A copy: subscribing renames each subscription in the map.
        for (const sub of [...this.subs.values()]) this.subscribe(sub);
        const waiters = this.connectedWaiters;
        this.connectedWaiters = [];
        for (const w of waiters) w(true);
        return;
      }
      case 'subscribed': {
        const sub = this.subs.get(msg.sub);
        if (!sub) return;
        if (msg.resumed) {
          sub.state = 'live';
          sub.view.resumed(source, msg.revision);
        } else {
          sub.state = 'snapshot';
          sub.parts = [];
        }
        return;
      }
      case 'snapshot': {
        const sub = this.subs.get(msg.sub);
        if (!sub) return;
        if (msg.part === 0) sub.parts = [];
        for (const inst of msg.instances) sub.parts.push(inst);
        if (!msg.last) return;
        const instances = sub.parts;
        sub.parts = [];
        sub.state = 'live';
        sub.view.snapshot(source, instances, msg.revision);
        return;
      }
      case 'delta': {
        const sub = this.subs.get(msg.sub);
        if (sub?.state !== 'live') return;
        const list: { action: 'put' | 'delete'; instance: Instance }[] = [];
        for (const c of msg.changes) if (c.kind === 'instance') list.push({ action: c.action, instance: c.instance });
        sub.view.changes(source, list, msg.revision);
        return;
      }
      case 'progress':
        for (const sub of this.subs.values()) if (sub.state === 'live') sub.view.progress(source, msg.revision);
        return;
      case 'resync': {
        const sub = this.subs.get(msg.sub);
        if (sub) {
          sub.state = 'snapshot';
          sub.parts = [];
        }
        return;
      }
      case 'unsubscribed':
        return;
      case 'error': {
        this.opts.logger.warn({ source, code: msg.code, sub: msg.sub, message: msg.message }, 'watch: refused');
        const sub = msg.sub === undefined ? undefined : this.subs.get(msg.sub);
        if (!sub) return;
        // Refused for load or a replica's trouble: try elsewhere. Refused for what it asks: give up on it.
        if (RETRYABLE_REFUSALS.has(msg.code)) this.moveAway(`subscription refused: ${msg.code}`);
        else sub.state = 'pending';
        return;
      }
    }
  }
}
