import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { request } from 'undici';
import { type RawData, WebSocket } from 'ws';
import { ZodError } from 'zod';
import { PROTOCOL_VERSION, WATCH_PATH } from '../../protocol/protocol-version.js';
import {
  watchDeltaSchema,
  watchProgressSchema,
  watchResyncSchema,
  watchSnapshotSchema,
  watchSubscribedSchema,
} from '../../protocol/watch-messages.js';
import {
  errorMessageSchema,
  helloMessageSchema,
  type WireInstance,
  type WireNamespace,
  type WireService,
  type ZoneWeight,
} from '../../protocol/wire-model.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { ZoneClient } from './zone-client.js';
import type { ZoneFeed } from './zone-feed.js';

/** Timings and bounds of one zone watcher. */
export interface ZoneWatcherTuning {
  /** A replica must accept the WebSocket (and answer /readyz) within this. */
  readonly connectTimeoutMs: number;
  /** From the socket opening to `subscribed`. */
  readonly subscribeTimeoutMs: number;
  /** The watcher pings the replica this often (and checks the timers below). */
  readonly pingIntervalMs: number;
  /** No frame and no pong for this long: the replica (or the path to it) is dead. */
  readonly deadAfterMs: number;
  /**
   * A streaming replica sends `progress` every progressIntervalMs when its revision moved and at
   * least every 10 intervals when idle (api/watch/watch-connection.ts). Silence beyond this many
   * idle periods means the replica stopped serving the watch.
   */
  readonly progressSilenceIdlePeriods: number;
  /** The watched replica's /readyz is polled this often; it must know a leader to stay watched. */
  readonly readyCheckIntervalMs: number;
  /** Consecutive failed readiness checks before moving to another replica. */
  readonly readyFailuresMax: number;
  /** Without a current replica for this long the zone is reported unreachable (a failed round reports it sooner). */
  readonly staleAfterMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Largest frame accepted from a replica (its messages are ~1 MiB). */
  readonly frameBytesMax: number;
  /** Most instances a zone snapshot may hold. */
  readonly snapshotInstancesMax: number;
}

export const DEFAULT_ZONE_WATCHER_TUNING: ZoneWatcherTuning = {
  connectTimeoutMs: 3000,
  subscribeTimeoutMs: 10_000,
  pingIntervalMs: 2000,
  deadAfterMs: 8000,
  progressSilenceIdlePeriods: 1.5,
  readyCheckIntervalMs: 3000,
  readyFailuresMax: 2,
  staleAfterMs: 5000,
  backoffBaseMs: 200,
  backoffMaxMs: 5000,
  frameBytesMax: 16 * 1024 * 1024,
  snapshotInstancesMax: 2_000_000,
};

/** The zone server's progress interval when its hello does not say (api/watch/push-limits.ts). */
const DEFAULT_PROGRESS_INTERVAL_MS = 2000;
/** Idle progress comes every this many intervals (api/watch/watch-connection.ts PROGRESS_IDLE_FACTOR). */
const PROGRESS_IDLE_FACTOR = 10;
const SUBSCRIPTION_ID = 'federation';

export interface ZoneWatcherOptions {
  readonly zone: string;
  readonly replicas: readonly string[];
  readonly feed: ZoneFeed;
  readonly logger: Logger;
  readonly tuning?: Partial<ZoneWatcherTuning>;
  /** Called with the time from a data message's arrival to the view having applied it. */
  readonly observeLagMs?: (ms: number) => void;
  /** The zone token and CA (auth-on and TLS zones); absent: no token, Node's trusted roots. */
  readonly client?: ZoneClient;
  readonly random?: () => number;
}

/** What the watcher has done so far (for /metrics and the zone cluster route). */
export interface ZoneWatcherStats {
  connects: number;
  failovers: number;
  resumes: number;
  snapshots: number;
  resyncs: number;
  deltas: number;
  /** Watches the zone refused for credentials: none or bad (401), or without `read` on `*` (403). */
  refusedUnauthenticated: number;
  refusedForbidden: number;
  lastError: string | null;
}

/** How much of a refused upgrade's answer is read for its code and message. */
const REFUSAL_BODY_BYTES_MAX = 4096;

interface PendingSnapshot {
  readonly revision: number;
  nextPart: number;
  readonly namespaces: WireNamespace[];
  readonly services: WireService[];
  readonly instances: WireInstance[];
  zoneWeights: ZoneWeight[];
}

/** One socket to one replica and what it has said so far. */
interface Attempt {
  readonly url: string;
  ws: WebSocket | null;
  /** Subscribed and holding a complete view (resumed, or a snapshot completed). */
  current: boolean;
  subscribed: boolean;
  snapshot: PendingSnapshot | null;
  progressSilenceMs: number;
  openedAtMs: number;
  lastFrameMs: number;
  lastMessageMs: number;
  lastPingMs: number;
  readyFailures: number;
  readyCheckInFlight: boolean;
  lastReadyCheckMs: number;
  timer: NodeJS.Timeout | null;
  done: boolean;
}

/**
 * Watches one zone through one replica at a time: `subscribe {all: true}` on /v1/watch, the
 * snapshot, then deltas and progress, all fed to the merged view. When the replica goes away (socket
 * lost, no frame or pong, no progress, no longer ready) it moves on to the zone's next replica and
 * resumes from the last revision it holds (revisions are the zone's Raft index, the same on every
 * replica), so a failover normally costs no snapshot. When no replica gives a current view it tells
 * the view the zone is unreachable, and keeps trying in rounds with capped backoff.
 */
export class ZoneWatcher {
  readonly zone: string;
  readonly replicas: readonly string[];
  readonly stats: ZoneWatcherStats = {
    connects: 0,
    failovers: 0,
    resumes: 0,
    snapshots: 0,
    resyncs: 0,
    deltas: 0,
    refusedUnauthenticated: 0,
    refusedForbidden: 0,
    lastError: null,
  };
  private readonly tuning: ZoneWatcherTuning;
  private readonly log: Logger;
  private readonly backoff: ReconnectBackoff;
  private attempt: Attempt | null = null;
  private nextIndex: number;
  private failuresInRound = 0;
  /** The revision of the complete view the feed holds, once it holds one. */
  private heldRevision: number | null = null;
  /** Since when no replica is current (epoch ms); null while one is. */
  private lostSinceMs: number | null = Date.now();
  private staleTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The last credential refusal logged (logged again only when it changes or after a success). */
  private loggedRefusal: string | null = null;

  constructor(private readonly opts: ZoneWatcherOptions) {
    if (opts.replicas.length === 0) throw new Error(`zone ${opts.zone} has no replicas`);
    this.zone = opts.zone;
    this.replicas = opts.replicas;
    this.tuning = { ...DEFAULT_ZONE_WATCHER_TUNING, ...opts.tuning };
    this.log = opts.logger.child({ zone: opts.zone });
    this.backoff = new ReconnectBackoff(this.tuning.backoffBaseMs, this.tuning.backoffMaxMs, opts.random);
    // Start at a random replica, so federation nodes spread over the zone.
    this.nextIndex = Math.floor((opts.random ?? Math.random)() * opts.replicas.length);
  }

  /** The replica watched now, or null. */
  get replica(): string | null {
    return this.attempt?.current ? this.attempt.url : null;
  }

  get current(): boolean {
    return this.attempt?.current ?? false;
  }

  start(): void {
    this.armStaleTimer();
    this.connectNext();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.staleTimer) clearTimeout(this.staleTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.staleTimer = null;
    this.retryTimer = null;
    const a = this.attempt;
    this.attempt = null;
    if (a) this.dispose(a, 1000, 'federation node shutting down');
  }

  // -------------------------------------------------------------------------------------------
  // Connecting and failing over
  // -------------------------------------------------------------------------------------------

  private connectNext(): void {
    if (this.closed) return;
    const url = this.replicas[this.nextIndex % this.replicas.length]!;
    this.nextIndex = (this.nextIndex + 1) % this.replicas.length;
    const now = performance.now();
    const a: Attempt = {
      url,
      ws: null,
      current: false,
      subscribed: false,
      snapshot: null,
      progressSilenceMs: DEFAULT_PROGRESS_INTERVAL_MS * PROGRESS_IDLE_FACTOR * this.tuning.progressSilenceIdlePeriods,
      openedAtMs: now,
      lastFrameMs: now,
      lastMessageMs: now,
      lastPingMs: now,
      readyFailures: 0,
      readyCheckInFlight: false,
      lastReadyCheckMs: now,
      timer: null,
      done: false,
    };
    this.attempt = a;
    this.open(a);
  }

  private open(a: Attempt): void {
    const wsUrl = `${a.url.replace(/^http/, 'ws')}${WATCH_PATH}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(wsUrl, {
        handshakeTimeout: this.tuning.connectTimeoutMs,
        maxPayload: this.tuning.frameBytesMax,
        perMessageDeflate: false,
        ...this.opts.client?.socketOptions(),
      });
    } catch (err) {
      this.fail(a, (err as Error).message);
      return;
    }
    a.ws = ws;
    ws.on('open', () => {
      if (a.done) return;
      this.stats.connects++;
      a.openedAtMs = performance.now();
      a.lastFrameMs = a.openedAtMs;
      a.lastMessageMs = a.openedAtMs;
      a.timer = setInterval(() => this.tick(a), Math.min(this.tuning.pingIntervalMs, 1000));
      a.timer.unref();
      this.log.debug({ replica: a.url }, 'watch socket open');
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      a.lastFrameMs = performance.now();
      a.lastMessageMs = a.lastFrameMs;
      if (a.done) return;
      if (isBinary) {
        this.fail(a, 'binary frame from the replica');
        return;
      }
      this.onMessage(a, rawText(data), a.lastFrameMs);
    });
    ws.on('pong', () => {
      a.lastFrameMs = performance.now();
    });
    // The upgrade answered with something else than 101: say why (401/403 name the zone token).
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      void readBounded(res, REFUSAL_BODY_BYTES_MAX).then((body) => this.upgradeRefused(a, res.statusCode ?? 0, body));
    });
    ws.on('error', (err) => this.fail(a, err.message));
    ws.on('close', (code, reason) => this.fail(a, `socket closed (${code}${reason.length ? ` ${reason}` : ''})`));
  }

  private async probeReady(url: string): Promise<true | string> {
    try {
      const res = await request(`${url}/readyz`, {
        ...(this.opts.client ? { dispatcher: this.opts.client.dispatcher() } : {}),
        signal: AbortSignal.timeout(this.tuning.connectTimeoutMs),
      });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300 ? true : `/readyz answered ${res.statusCode}`;
    } catch (err) {
      const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
      return e.code ?? e.cause?.code ?? e.cause?.message ?? String(e.message);
    }
  }

  /** The replica refused the upgrade (no WebSocket): a credential refusal is named for the operator. */
  private upgradeRefused(a: Attempt, status: number, body: string): void {
    if (a.done) return;
    let detail = '';
    try {
      const json = JSON.parse(body) as { code?: unknown; message?: unknown };
      if (typeof json.code === 'string') detail = ` ${json.code}`;
      if (typeof json.message === 'string') detail += `: ${json.message.slice(0, 200)}`;
    } catch {
      // not cairn's JSON (a proxy's page?): the status says enough
    }
    if (status === 401 || status === 403) {
      this.credentialsRefused(
        a,
        status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
        `the upgrade answered ${status}${detail}`,
      );
      return;
    }
    this.fail(a, `the upgrade answered ${status}${detail}`);
  }

  /** The zone does not accept this node's credentials for an `all: true` watch: counted, logged, failed. */
  private credentialsRefused(a: Attempt, code: 'UNAUTHENTICATED' | 'FORBIDDEN', what: string): void {
    const hint =
      code === 'FORBIDDEN'
        ? 'the --zone-token needs read on * in the zone'
        : this.opts.client?.hasToken
          ? 'the zone does not accept the --zone-token'
          : 'the zone needs a token: give --zone-token (read on *)';
    if (code === 'FORBIDDEN') this.stats.refusedForbidden++;
    else this.stats.refusedUnauthenticated++;
    const reason = `refused by the zone (${code}): ${hint}; ${what}`;
    if (this.loggedRefusal !== reason) {
      this.loggedRefusal = reason;
      this.log.error({ replica: a.url, code }, `cannot watch the zone: ${hint}`);
    }
    this.fail(a, reason);
  }

  /** Periodic liveness checks of the open socket. */
  private tick(a: Attempt): void {
    if (a.done || !a.ws) return;
    const now = performance.now();
    if (!a.subscribed && now - a.openedAtMs > this.tuning.subscribeTimeoutMs) {
      this.fail(a, 'no subscription within the timeout');
      return;
    }
    if (now - a.lastFrameMs > this.tuning.deadAfterMs) {
      this.fail(a, `nothing heard for ${Math.round(now - a.lastFrameMs)} ms`);
      return;
    }
    if (a.current && now - a.lastMessageMs > a.progressSilenceMs) {
      this.fail(a, `no progress for ${Math.round(now - a.lastMessageMs)} ms`);
      return;
    }
    if (a.ws.readyState === WebSocket.OPEN && now - a.lastPingMs >= this.tuning.pingIntervalMs) {
      a.lastPingMs = now;
      a.ws.ping();
    }
    if (a.current && !a.readyCheckInFlight && now - a.lastReadyCheckMs >= this.tuning.readyCheckIntervalMs) {
      a.readyCheckInFlight = true;
      a.lastReadyCheckMs = now;
      void this.checkReady(a).finally(() => {
        a.readyCheckInFlight = false;
      });
    }
  }

  /**
   * A replica that knows no leader (cut off from its zone, or the zone is electing) serves a view
   * that no longer moves. When that lasts, move to a replica that is ready, if there is one: during
   * an election none is, and staying costs nothing.
   */
  private async checkReady(a: Attempt): Promise<void> {
    const ready = await this.probeReady(a.url);
    if (a.done) return;
    a.readyFailures = ready === true ? 0 : a.readyFailures + 1;
    if (a.readyFailures < this.tuning.readyFailuresMax || this.replicas.length < 2) return;
    const others = this.replicas.filter((u) => u !== a.url);
    const answers = await Promise.all(others.map((u) => this.probeReady(u)));
    if (a.done) return;
    const target = others.findIndex((_, i) => answers[i] === true);
    if (target < 0) {
      a.readyFailures = 0;
      return;
    }
    this.nextIndex = this.replicas.indexOf(others[target]!);
    this.fail(a, `not ready (${ready}) while ${others[target]} is`);
  }

  /** The attempt is over (for whatever reason, reported once): move on. */
  private fail(a: Attempt, reason: string): void {
    if (a.done) return;
    const wasCurrent = a.current;
    this.dispose(a, 1000, 'moving to another replica');
    if (this.attempt === a) this.attempt = null;
    if (this.closed) return;
    this.stats.lastError = `${a.url}: ${reason}`;
    if (wasCurrent) {
      this.stats.failovers++;
      this.lostSinceMs = Date.now();
      this.failuresInRound = 0;
      this.opts.feed.zoneReplica(this.zone, null);
      this.log.warn({ replica: a.url, reason }, 'lost the watched replica; moving to the next one');
      this.armStaleTimer();
    } else {
      this.failuresInRound++;
      this.log.debug({ replica: a.url, reason }, 'replica attempt failed');
    }
    if (this.failuresInRound >= this.replicas.length) {
      // Every replica was tried once: the zone is unreachable for now.
      this.failuresInRound = 0;
      this.reportUnreachable();
      const delayMs = this.backoff.next();
      if (this.backoff.failedRounds === 1 || this.backoff.failedRounds % 10 === 0) {
        this.log.warn(
          { reason, retryInMs: delayMs, rounds: this.backoff.failedRounds },
          'no replica of the zone answers',
        );
      }
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.connectNext();
      }, delayMs);
      this.retryTimer.unref();
      return;
    }
    setImmediate(() => this.connectNext());
  }

  private dispose(a: Attempt, code: number, reason: string): void {
    a.done = true;
    a.current = false;
    if (a.timer) clearInterval(a.timer);
    a.timer = null;
    a.snapshot = null;
    const ws = a.ws;
    a.ws = null;
    if (!ws) return;
    ws.removeAllListeners('message');
    ws.on('error', () => {});
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(code, reason);
      // Do not wait on a replica that never finishes the closing handshake.
      setTimeout(() => ws.terminate(), 1000).unref();
    } else {
      ws.terminate();
    }
  }

  private armStaleTimer(): void {
    if (this.staleTimer || this.closed) return;
    this.staleTimer = setTimeout(() => {
      this.staleTimer = null;
      if (!this.current) this.reportUnreachable();
    }, this.tuning.staleAfterMs);
    this.staleTimer.unref();
  }

  private reportUnreachable(): void {
    if (this.current) return;
    this.opts.feed.zoneUnreachable(this.zone, this.lostSinceMs ?? Date.now());
  }

  private becomeCurrent(a: Attempt): void {
    a.current = true;
    this.loggedRefusal = null;
    a.lastReadyCheckMs = performance.now();
    this.lostSinceMs = null;
    this.failuresInRound = 0;
    this.backoff.reset();
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = null;
  }

  // -------------------------------------------------------------------------------------------
  // The protocol
  // -------------------------------------------------------------------------------------------

  private send(a: Attempt, message: object): void {
    if (a.ws?.readyState === WebSocket.OPEN) a.ws.send(JSON.stringify(message));
  }

  private onMessage(a: Attempt, text: string, receivedAtMs: number): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.fail(a, 'a frame that is not JSON');
      return;
    }
    const type = (json as { type?: unknown } | null)?.type;
    try {
      switch (type) {
        case 'hello':
          this.onHello(a, json);
          break;
        case 'subscribed':
          this.onSubscribed(a, json);
          break;
        case 'snapshot':
          this.onSnapshot(a, json, receivedAtMs);
          break;
        case 'delta':
          this.onDelta(a, json, receivedAtMs);
          break;
        case 'progress':
          this.onProgress(a, json);
          break;
        case 'resync':
          this.onResync(a, json);
          break;
        case 'error':
          this.onError(a, json);
          break;
        case 'unsubscribed':
          this.fail(a, 'the replica ended the subscription');
          break;
        default:
          // Messages a newer replica may send: ignored, as the protocol asks.
          break;
      }
    } catch (err) {
      if (!(err instanceof ZodError)) this.log.error({ err, replica: a.url }, 'applying a zone message failed');
      this.fail(a, `a ${String(type)} message the watcher cannot use: ${(err as Error).message}`);
    }
  }

  private onHello(a: Attempt, json: unknown): void {
    const hello = helloMessageSchema.parse(json);
    if (hello.zone !== this.zone) {
      this.log.error(
        { replica: a.url, replicaZone: hello.zone },
        'the replica serves another zone than configured; check --zone',
      );
      this.fail(a, `it serves zone '${hello.zone}', not '${this.zone}'`);
      return;
    }
    if (hello.protocol !== PROTOCOL_VERSION) {
      this.log.warn({ replica: a.url, protocol: hello.protocol }, 'the replica speaks another protocol version');
    }
    const intervalMs = hello.limits['progressIntervalMs'] ?? DEFAULT_PROGRESS_INTERVAL_MS;
    a.progressSilenceMs = intervalMs * PROGRESS_IDLE_FACTOR * this.tuning.progressSilenceIdlePeriods;
    this.send(a, {
      type: 'subscribe',
      sub: SUBSCRIPTION_ID,
      all: true,
      ...(this.heldRevision !== null ? { fromRevision: this.heldRevision } : {}),
    });
  }

  private onSubscribed(a: Attempt, json: unknown): void {
    const m = watchSubscribedSchema.parse(json);
    if (m.sub !== SUBSCRIPTION_ID) return;
    a.subscribed = true;
    if (!m.resumed) return; // a snapshot follows
    this.stats.resumes++;
    this.becomeCurrent(a);
    this.opts.feed.zoneReplica(this.zone, a.url);
    this.opts.feed.zoneResumed(this.zone, a.url, m.revision);
    this.heldRevision = Math.max(this.heldRevision ?? 0, m.revision);
    this.log.info({ replica: a.url, revision: m.revision }, 'watching (resumed)');
  }

  private onSnapshot(a: Attempt, json: unknown, receivedAtMs: number): void {
    const m = watchSnapshotSchema.parse(json);
    if (m.sub !== SUBSCRIPTION_ID) return;
    if (m.part === 0) {
      a.snapshot = {
        revision: m.revision,
        nextPart: 0,
        namespaces: [],
        services: [],
        instances: [],
        zoneWeights: m.zoneWeights,
      };
    }
    const s = a.snapshot;
    if (!s || s.nextPart !== m.part || s.revision !== m.revision) {
      this.fail(a, `snapshot part ${m.part} out of order`);
      return;
    }
    s.nextPart++;
    for (const n of m.namespaces) s.namespaces.push(n);
    for (const x of m.services) s.services.push(x);
    for (const i of m.instances) s.instances.push(i);
    if (s.instances.length > this.tuning.snapshotInstancesMax) {
      this.log.error(
        { replica: a.url, max: this.tuning.snapshotInstancesMax },
        'the zone snapshot holds more instances than this federation accepts',
      );
      this.fail(a, 'snapshot too large');
      return;
    }
    if (!m.last) return;
    a.snapshot = null;
    this.stats.snapshots++;
    const wasCurrent = a.current;
    this.becomeCurrent(a);
    this.opts.feed.zoneReplica(this.zone, a.url);
    this.opts.feed.zoneSnapshot(this.zone, a.url, s);
    this.heldRevision = s.revision;
    this.opts.observeLagMs?.(performance.now() - receivedAtMs);
    this.log.info(
      { replica: a.url, revision: s.revision, instances: s.instances.length, resync: wasCurrent },
      'watching (snapshot)',
    );
  }

  private onDelta(a: Attempt, json: unknown, receivedAtMs: number): void {
    const m = watchDeltaSchema.parse(json);
    if (m.sub !== SUBSCRIPTION_ID) return;
    if (!a.current || a.snapshot) {
      this.fail(a, 'a delta before the view was complete');
      return;
    }
    this.stats.deltas++;
    this.opts.feed.zoneDelta(this.zone, m.revision, m.changes);
    this.heldRevision = Math.max(this.heldRevision ?? 0, m.revision);
    this.opts.observeLagMs?.(performance.now() - receivedAtMs);
  }

  private onProgress(a: Attempt, json: unknown): void {
    const m = watchProgressSchema.parse(json);
    // Progress covers streaming subscriptions only: it says nothing while a snapshot is under way.
    if (!a.current || a.snapshot) return;
    this.opts.feed.zoneProgress(this.zone, m.revision);
    this.heldRevision = Math.max(this.heldRevision ?? 0, m.revision);
  }

  private onResync(a: Attempt, json: unknown): void {
    const m = watchResyncSchema.parse(json);
    if (m.sub !== SUBSCRIPTION_ID) return;
    this.stats.resyncs++;
    a.snapshot = null;
    this.log.info({ replica: a.url, reason: m.reason }, 'resync: a fresh snapshot follows');
  }

  private onError(a: Attempt, json: unknown): void {
    const m = errorMessageSchema.parse(json);
    if ((m.code === 'FORBIDDEN' || m.code === 'UNAUTHENTICATED') && (m.sub === SUBSCRIPTION_ID || !a.subscribed)) {
      this.credentialsRefused(a, m.code, `the subscription was refused: ${m.message}`);
      return;
    }
    if (m.sub === SUBSCRIPTION_ID || !a.subscribed) {
      this.fail(a, `refused: ${m.code} ${m.message}`);
      return;
    }
    this.log.warn({ replica: a.url, code: m.code, message: m.message }, 'error message from the replica');
  }
}

/** Up to `max` bytes of an answer's body, as text; whatever arrived when it ends or fails. */
function readBounded(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      res.removeAllListeners('data');
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    res.on('data', (chunk: Buffer) => {
      if (size >= max) return;
      chunks.push(chunk.subarray(0, max - size));
      size += chunk.length;
      if (size >= max) done();
    });
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
  });
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
