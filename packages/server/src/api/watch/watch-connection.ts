import type { WebSocket } from 'ws';
import { OPEN_SOCKET_ACCESS, type SocketAccess } from '../../auth/auth-guard.js';
import { ANY_NAMESPACE } from '../../auth/roles.js';
import { CairnError } from '../../errors.js';
import { CLOSE_CODES, PROTOCOL_VERSION } from '../../protocol/protocol-version.js';
import {
  type WatchClientMessage,
  type WatchSubscribe,
  watchClientMessageSchema,
} from '../../protocol/watch-messages.js';
import type { PushContext } from './push-context.js';
import { PushSocket } from './push-socket.js';
import { Subscription } from './subscription.js';
import type { ChangeEncoder } from './wire-encoding.js';
import { encodeDeltas } from './wire-encoding.js';

/** How often a blocked socket is looked at again to see whether it drained. */
const BLOCKED_RECHECK_MS = 20;
/** With nothing new, progress is still sent every this many progress intervals (a liveness signal). */
const PROGRESS_IDLE_FACTOR = 10;

/**
 * One `/v1/watch` socket: its subscriptions, and the pump that moves snapshots and the hub's deltas
 * onto the socket as fast as the client reads them and no faster. A client that reads too slowly
 * leaves its deltas in the hub's bounded queue; when that overflows, the hub drops them for a single
 * resync, and the subscription starts over from a fresh snapshot once the socket has drained.
 */
export class WatchConnection extends PushSocket<WatchClientMessage, PushContext> {
  private readonly subs = new Map<string, Subscription>();
  private servicesSubscribed = 0;
  private flushScheduled = false;
  private blockedSinceMs: number | null = null;
  private blockedTimer: NodeJS.Timeout | null = null;
  private lastProgressMs = performance.now();
  private lastActiveMs = performance.now();
  /** The newest revision this socket has been told about (snapshot, delta or progress). */
  private revisionSent = 0;
  private readonly wake = (): void => this.scheduleFlush();

  constructor(
    socket: WebSocket,
    ctx: PushContext,
    private readonly encoder: ChangeEncoder,
    /** What the socket's identity may read (checked per subscription). */
    private readonly access: SocketAccess = OPEN_SOCKET_ACCESS,
  ) {
    super(socket, ctx, watchClientMessageSchema);
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
    if (nowMs - this.lastProgressMs >= limits.progressIntervalMs) this.maybeSendProgress(nowMs);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------------------------

  private subscribe(msg: WatchSubscribe): void {
    const { limits } = this.ctx;
    if (this.subs.has(msg.sub)) throw new CairnError('CONFLICT', `subscription '${msg.sub}' exists on this socket`);
    // Everything (namespaces included) needs read on every namespace; services, read on theirs.
    if (msg.all) this.access.require('read', ANY_NAMESPACE);
    else for (const ns of new Set((msg.services ?? []).map((s) => s.namespace))) this.access.require('read', ns);
    if (this.subs.size >= limits.subscriptionsPerConnectionMax) {
      throw new CairnError(
        'RATE_LIMITED',
        `at most ${limits.subscriptionsPerConnectionMax} subscriptions per socket; unsubscribe one or open another socket`,
      );
    }
    const sub = new Subscription(msg.sub, msg.all ? null : (msg.services ?? []));
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
    this.ctx.stats.subscriptions++;
    if (msg.fromRevision === undefined) this.startSnapshot(sub, true);
    else void this.resume(sub, msg.fromRevision);
  }

  private unsubscribe(id: string): void {
    const sub = this.subs.get(id);
    if (!sub) throw new CairnError('NOT_FOUND', `no subscription '${id}' on this socket`);
    this.drop(sub);
    this.send({ type: 'unsubscribed', sub: id });
  }

  private drop(sub: Subscription): void {
    if (sub.watcher) this.ctx.registry.hub.unwatch(sub.watcher);
    sub.watcher = null;
    sub.cursor = null;
    sub.state = 'closed';
    this.subs.delete(sub.id);
    this.servicesSubscribed -= sub.serviceCount;
    this.ctx.stats.subscriptions--;
  }

  /** Resumes from the hub's history when it reaches back to `fromRevision`; a snapshot otherwise. */
  private async resume(sub: Subscription, fromRevision: number): Promise<void> {
    const { registry, limits, waiter } = this.ctx;
    // A client coming from a replica further ahead: give this one a moment to catch up.
    if (fromRevision > registry.hub.revision) await waiter.waitFor(fromRevision, limits.catchUpWaitMs);
    if (sub.state === 'closed' || this.closed) return;
    const { watcher, resumed } = registry.hub.watch(sub.filter, this.wake, fromRevision);
    if (!resumed) {
      registry.hub.unwatch(watcher);
      this.startSnapshot(sub, true);
      return;
    }
    this.ctx.stats.resumes++;
    sub.watcher = watcher;
    sub.state = 'live';
    this.send({ type: 'subscribed', sub: sub.id, resumed: true, revision: fromRevision });
    this.scheduleFlush();
  }

  /** Takes a snapshot and a hub watcher in one step; the parts go out as the socket drains. */
  private startSnapshot(sub: Subscription, announce: boolean): void {
    const { registry, stats } = this.ctx;
    const cursor = sub.takeSnapshot(registry);
    sub.watcher = registry.hub.watch(sub.filter, this.wake).watcher;
    sub.cursor = cursor;
    sub.state = 'snapshot';
    stats.snapshots++;
    if (announce) this.send({ type: 'subscribed', sub: sub.id, resumed: false, revision: cursor.revision });
    this.scheduleFlush();
  }

  /**
   * The hub dropped this subscription's backlog (it overflowed while the socket was full, or the
   * replica restored a snapshot): let go of its watcher and snapshot at once, so a stuck client holds
   * nothing more, and resync it when the socket has drained.
   */
  private goStale(sub: Subscription, reason: string): void {
    this.ctx.stats.resyncs++;
    if (sub.watcher) this.ctx.registry.hub.unwatch(sub.watcher);
    sub.watcher = null;
    sub.cursor = null;
    sub.state = 'stale';
    sub.staleReason = reason;
  }

  private noticeOverflow(sub: Subscription): void {
    const w = sub.watcher;
    if (!w?.resyncing) return;
    const ev = w.queue[0];
    this.goStale(sub, ev?.type === 'resync' ? ev.reason : 'the watcher fell too far behind');
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
    for (const sub of this.subs.values()) this.noticeOverflow(sub);
    for (const sub of this.subs.values()) {
      if (!this.pump(sub)) {
        this.block();
        return;
      }
    }
    this.unblock();
  }

  /** Moves one subscription forward; false when the socket is too full to continue. */
  private pump(sub: Subscription): boolean {
    const { registry, limits } = this.ctx;
    for (;;) {
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
      if (sub.state !== 'live' || sub.watcher === null || sub.watcher.queue.length === 0) return true;
      if (this.congested()) return false;
      const events = registry.hub.drain(sub.watcher);
      const resync = events.find((e) => e.type === 'resync');
      if (resync?.type === 'resync') {
        this.goStale(sub, resync.reason);
        continue;
      }
      const out = encodeDeltas(this.encoder, sub.subJson, events, limits.messageBytesMax, (c) => sub.keeps(c));
      for (const m of out.messages) this.sendCounted(m);
      this.ctx.stats.deltaMessages += out.messages.length;
      this.revisionSent = Math.max(this.revisionSent, out.revision);
      return true;
    }
  }

  private congested(): boolean {
    return this.socket.bufferedAmount >= this.ctx.limits.highWaterBytes;
  }

  private sendCounted(json: string): void {
    if (!this.sendRaw(json)) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.ctx.stats.bufferedBytesPeak) this.ctx.stats.bufferedBytesPeak = buffered;
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
      if (sub.state !== 'live' || (sub.watcher?.queue.length ?? 0) > 0) return;
    }
    const revision = Math.max(this.ctx.registry.revision, this.revisionSent);
    const idle = nowMs - this.lastProgressMs >= this.ctx.limits.progressIntervalMs * PROGRESS_IDLE_FACTOR;
    if (revision <= this.revisionSent && !idle) return;
    this.lastProgressMs = nowMs;
    this.revisionSent = revision;
    this.ctx.stats.progressMessages++;
    this.send({ type: 'progress', revision });
  }

  /** Sent first on the socket. */
  hello(): void {
    const { registry, limits } = this.ctx;
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      zone: registry.zone,
      node: registry.raft.id,
      revision: registry.revision,
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

  protected release(): void {
    if (this.blockedTimer) clearTimeout(this.blockedTimer);
    this.blockedTimer = null;
    for (const sub of [...this.subs.values()]) this.drop(sub);
  }
}
