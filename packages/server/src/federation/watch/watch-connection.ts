import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { PushSocket } from '../../api/watch/push-socket.js';
import { OPEN_SOCKET_ACCESS, type SocketAccess } from '../../auth/auth-guard.js';
import { ANY_NAMESPACE, allows } from '../../auth/roles.js';
import { CairnError } from '../../errors.js';
import { CLOSE_CODES, PROTOCOL_VERSION } from '../../protocol/protocol-version.js';
import {
  type WatchClientMessage,
  type WatchSubscribe,
  watchClientMessageSchema,
} from '../../protocol/watch-messages.js';
import type { FederatedView } from '../federated-view.js';
import type { ChangeFeed } from './change-feed.js';
import { type ChangeEncoder, encodeDeltas } from './watch-encoding.js';
import type { FederationWatchLimits } from './watch-limits.js';
import type { FederationWatchStats } from './watch-stats.js';
import { WatchSubscription } from './watch-subscription.js';

/** What every watch socket of one federation node shares. */
export interface FederationWatchContext {
  readonly view: FederatedView;
  readonly feed: ChangeFeed;
  readonly encoder: ChangeEncoder;
  readonly limits: FederationWatchLimits;
  readonly stats: FederationWatchStats;
  readonly log: Logger;
  readonly nodeId: string;
}

/** The `zone` a federation names itself in `hello`: it serves every zone. */
export const FEDERATION_ZONE = '*';

/** How often a blocked socket is looked at again to see whether it drained. */
const BLOCKED_RECHECK_MS = 20;
/** With nothing new, progress is still sent every this many progress intervals (a liveness signal). */
const PROGRESS_IDLE_FACTOR = 10;

/**
 * One federation `/v1/watch` socket: the zone registry's protocol over the merged view. Its
 * subscriptions, and the pump that moves snapshots and the feed's batches onto the socket as fast
 * as the client reads and no faster; a subscription whose queue overflows is resynced from a fresh
 * snapshot once the socket has drained, and a socket that stays full too long is closed (4001).
 * Zone states and weights go out as `zones` messages after `subscribed` and on every change (to
 * identities that may read every namespace, as `GET /v1/zones` needs).
 */
export class FederationWatchConnection extends PushSocket<WatchClientMessage, FederationWatchContext> {
  private readonly subs = new Map<string, WatchSubscription>();
  private servicesSubscribed = 0;
  private flushScheduled = false;
  private blockedSinceMs: number | null = null;
  private blockedTimer: NodeJS.Timeout | null = null;
  private lastProgressMs = performance.now();
  private lastActiveMs = performance.now();
  /** The newest revision this socket has been told about (snapshot, delta or progress). */
  private revisionSent = 0;
  /** Zone states or weights changed since the last `zones` message. */
  private zonesPending = false;
  private readonly offZones: () => void;
  /** Zone states span every namespace (as `GET /v1/zones`): sent only to identities that read `*`. */
  private readonly seesZones: boolean;
  private readonly wake = (): void => this.scheduleFlush();

  constructor(
    socket: WebSocket,
    ctx: FederationWatchContext,
    /** What the socket's identity may read (checked per subscription). */
    private readonly access: SocketAccess = OPEN_SOCKET_ACCESS,
  ) {
    super(socket, ctx, watchClientMessageSchema);
    socket.on('error', () => this.finish());
    this.seesZones = access.identity === null || allows(access.identity.roles, 'read', ANY_NAMESPACE);
    this.offZones = ctx.feed.onZones(() => {
      if (this.subs.size === 0 || !this.seesZones) return;
      this.zonesPending = true;
      this.scheduleFlush();
    });
  }

  /** Sent first on the socket. */
  hello(): void {
    const { limits, view, nodeId } = this.ctx;
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      zone: FEDERATION_ZONE,
      node: nodeId,
      revision: view.revision,
      limits: {
        subscriptionsPerConnectionMax: limits.subscriptionsPerConnectionMax,
        servicesPerSubscriptionMax: limits.servicesPerSubscriptionMax,
        servicesPerConnectionMax: limits.servicesPerConnectionMax,
        frameBytesMax: limits.frameBytesMax,
        progressIntervalMs: limits.progressIntervalMs,
        pingIntervalMs: limits.pingIntervalMs,
      },
    });
  }

  protected handle(msg: WatchClientMessage): void {
    this.lastActiveMs = performance.now();
    if (msg.type === 'subscribe') this.subscribe(msg);
    else this.unsubscribe(msg.sub);
  }

  override tick(nowMs: number): boolean {
    if (!super.tick(nowMs)) return false;
    const { limits } = this.ctx;
    if (this.subs.size === 0) {
      if (nowMs - this.lastActiveMs > limits.idleTimeoutMs) {
        this.close(CLOSE_CODES.IDLE_TIMEOUT, 'no subscription for too long');
        return false;
      }
      return true;
    }
    this.lastActiveMs = nowMs;
    if (this.blockedSinceMs !== null && nowMs - this.blockedSinceMs > limits.slowConsumerTimeoutMs) {
      this.ctx.stats.slowConsumersClosed++;
      this.close(CLOSE_CODES.SLOW_CONSUMER, 'the client reads too slowly');
      return false;
    }
    if (this.ctx.view.ready) {
      for (const sub of this.subs.values()) if (sub.state === 'waiting') this.startSnapshot(sub, true);
    }
    if (nowMs - this.lastProgressMs >= limits.progressIntervalMs) this.maybeSendProgress(nowMs);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------------------------

  private subscribe(msg: WatchSubscribe): void {
    const { limits, feed, stats } = this.ctx;
    if (this.subs.has(msg.sub)) throw new CairnError('CONFLICT', `subscription '${msg.sub}' exists on this socket`);
    // Everything (namespaces and zones included) needs read on every namespace; services, read on theirs.
    if (msg.all) this.access.require('read', ANY_NAMESPACE);
    else for (const ns of new Set((msg.services ?? []).map((s) => s.namespace))) this.access.require('read', ns);
    if (this.subs.size >= limits.subscriptionsPerConnectionMax) {
      throw new CairnError(
        'RATE_LIMITED',
        `at most ${limits.subscriptionsPerConnectionMax} subscriptions per socket; unsubscribe one or open another socket`,
      );
    }
    const sub = new WatchSubscription(msg.sub, msg.all ? null : (msg.services ?? []));
    if (sub.serviceCount > limits.servicesPerSubscriptionMax) {
      throw new CairnError(
        'VALIDATION_FAILED',
        `at most ${limits.servicesPerSubscriptionMax} services per subscription`,
      );
    }
    if (this.servicesSubscribed + sub.serviceCount > limits.servicesPerConnectionMax) {
      throw new CairnError(
        'RATE_LIMITED',
        `at most ${limits.servicesPerConnectionMax} services over all subscriptions of a socket`,
      );
    }
    this.subs.set(sub.id, sub);
    this.servicesSubscribed += sub.serviceCount;
    stats.subscriptions++;
    if (msg.fromRevision !== undefined) {
      // Revisions are this node's own: one from another federation node (or too old) is outside
      // the history, and the subscription starts over from a snapshot.
      const { reader, resumed } = feed.watch(sub.filter, this.wake, msg.fromRevision);
      if (resumed) {
        stats.resumes++;
        sub.reader = reader;
        sub.state = 'live';
        this.send({ type: 'subscribed', sub: sub.id, resumed: true, revision: msg.fromRevision });
        this.sendZones();
        this.scheduleFlush();
        return;
      }
      feed.unwatch(reader);
    }
    // A view that is not ready yet would give a partial snapshot: wait for it (tick starts it).
    if (this.ctx.view.ready) this.startSnapshot(sub, true);
  }

  private unsubscribe(id: string): void {
    const sub = this.subs.get(id);
    if (!sub) throw new CairnError('NOT_FOUND', `no subscription '${id}' on this socket`);
    this.drop(sub);
    this.send({ type: 'unsubscribed', sub: id });
  }

  private drop(sub: WatchSubscription): void {
    if (sub.reader) this.ctx.feed.unwatch(sub.reader);
    sub.reader = null;
    sub.cursor = null;
    sub.state = 'closed';
    this.subs.delete(sub.id);
    this.servicesSubscribed -= sub.serviceCount;
    this.ctx.stats.subscriptions--;
  }

  /** Takes a snapshot and a feed reader in one step; the parts go out as the socket drains. */
  private startSnapshot(sub: WatchSubscription, announce: boolean): void {
    const { view, feed, stats } = this.ctx;
    const cursor = sub.takeSnapshot(view);
    sub.reader = feed.watch(sub.filter, this.wake).reader;
    sub.cursor = cursor;
    sub.state = 'snapshot';
    stats.snapshots++;
    if (announce) {
      this.send({ type: 'subscribed', sub: sub.id, resumed: false, revision: cursor.revision });
      this.sendZones();
    }
    this.scheduleFlush();
  }

  /** The subscription's queue overflowed: let go of everything it holds and resync once the socket drains. */
  private goStale(sub: WatchSubscription, reason: string): void {
    this.ctx.stats.resyncs++;
    if (sub.reader) this.ctx.feed.unwatch(sub.reader);
    sub.reader = null;
    sub.cursor = null;
    sub.state = 'stale';
    sub.staleReason = reason;
  }

  // -------------------------------------------------------------------------------------------
  // The pump
  // -------------------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends what every subscription has pending, until the socket's buffer reaches the high-water mark. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    for (const sub of this.subs.values()) {
      if (sub.reader?.overflowed) this.goStale(sub, 'the subscription fell too far behind');
    }
    for (const sub of this.subs.values()) {
      if (!this.pump(sub)) {
        this.block();
        return;
      }
    }
    if (this.zonesPending) this.sendZones();
    this.unblock();
  }

  /** Moves one subscription forward; false when the socket is too full to continue. */
  private pump(sub: WatchSubscription): boolean {
    const { feed, limits, stats } = this.ctx;
    if (sub.state === 'stale') {
      if (this.congested()) return false;
      this.send({ type: 'resync', sub: sub.id, reason: sub.staleReason });
      this.startSnapshot(sub, false);
    }
    if (sub.state === 'snapshot') {
      const cursor = sub.cursor!;
      while (!cursor.done) {
        if (this.congested()) return false;
        this.sendCounted(cursor.next(sub.subJson, limits.messageBytesMax));
      }
      sub.cursor = null;
      sub.state = 'live';
      this.revisionSent = Math.max(this.revisionSent, cursor.revision);
    }
    if (sub.state !== 'live' || sub.reader === null || sub.reader.queue.length === 0) return true;
    if (this.congested()) return false;
    const out = encodeDeltas(this.ctx.encoder, sub.subJson, feed.drain(sub.reader), limits.messageBytesMax);
    for (const m of out.messages) this.sendCounted(m);
    stats.deltaMessages += out.messages.length;
    this.revisionSent = Math.max(this.revisionSent, out.revision);
    return true;
  }

  private congested(): boolean {
    return this.socket.bufferedAmount >= this.ctx.limits.highWaterBytes;
  }

  private sendCounted(json: string): void {
    if (!this.sendRaw(json)) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.ctx.stats.bufferedBytesPeak) this.ctx.stats.bufferedBytesPeak = buffered;
  }

  /** Zone states and weights as the view holds them now. */
  private sendZones(): void {
    const { view, stats } = this.ctx;
    this.zonesPending = false;
    if (!this.seesZones) return;
    stats.zonesMessages++;
    this.send({ type: 'zones', revision: view.revision, zones: view.zones() });
  }

  private block(): void {
    this.blockedSinceMs ??= performance.now();
    if (this.blockedTimer || this.closed) return;
    this.blockedTimer = setTimeout(() => {
      this.blockedTimer = null;
      this.flush();
    }, BLOCKED_RECHECK_MS);
  }

  private unblock(): void {
    this.blockedSinceMs = null;
  }

  /**
   * Tells the client the current revision, when every subscription is streaming with nothing left
   * to send (so the claim "you have everything through R" holds for all of them).
   */
  private maybeSendProgress(nowMs: number): void {
    this.flush();
    if (this.closed || this.blockedSinceMs !== null) return;
    for (const sub of this.subs.values()) {
      if (sub.state !== 'live' || (sub.reader?.queue.length ?? 0) > 0) return;
    }
    const revision = Math.max(this.ctx.feed.revision, this.revisionSent);
    const idle = nowMs - this.lastProgressMs >= this.ctx.limits.progressIntervalMs * PROGRESS_IDLE_FACTOR;
    if (revision <= this.revisionSent && !idle) return;
    this.lastProgressMs = nowMs;
    this.revisionSent = revision;
    this.ctx.stats.progressMessages++;
    this.send({ type: 'progress', revision });
  }

  protected release(): void {
    if (this.blockedTimer) clearTimeout(this.blockedTimer);
    this.blockedTimer = null;
    this.offZones();
    for (const sub of [...this.subs.values()]) this.drop(sub);
  }
}
