import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FastifyBaseLogger } from 'fastify';
import { serviceKeyOf } from '../../registry/model.js';
import type { Watcher } from '../../registry/watch-hub.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import { instanceListJson } from './instance-list.js';
import { unmapped } from './push-address.js';
import { type PushSubscriber, type PushSubscriberInput, PushSubscribers } from './push-subscribers.js';

export interface UdpPushOptions {
  /** How long to wait for a `push-ack` before the retry (Nacos: 10 s). */
  readonly ackTimeoutMs: number;
  /** Sends after the first one when no ack comes (Nacos: 1). */
  readonly retries: number;
  /** A subscriber that has not polled for this long expires. */
  readonly subscriberTtlMs: number;
  /** At most this many subscribers per replica; more are refused and keep polling. */
  readonly subscribersMax: number;
  /** Changes arriving within this window are pushed together. */
  readonly pushDelayMs: number;
  /** Packets at least this large are gzipped (Nacos: 1024 bytes). */
  readonly gzipMinBytes: number;
  /** `cacheMillis` in pushed lists (Nacos's push cache millis: 10 s). */
  readonly cacheMillis: number;
}

export const DEFAULT_UDP_PUSH: UdpPushOptions = {
  ackTimeoutMs: 10_000,
  retries: 1,
  // Nacos expires a push client 10 s after its last poll, checked every 20 s; its clients poll every
  // cacheMillis (10 s), so a 10 s TTL would drop healthy clients between polls. Two poll periods.
  subscriberTtlMs: 20_000,
  subscribersMax: 10_000,
  pushDelayMs: 20,
  gzipMinBytes: 1024,
  cacheMillis: 10_000,
};

/** The largest UDP payload; a list that does not fit even gzipped is not pushed (clients still poll). */
const DATAGRAM_BYTES_MAX = 65_507;

interface PendingAck {
  readonly key: string;
  readonly subscriberId: string;
  readonly bytes: Buffer;
  readonly ip: string;
  readonly port: number;
  sends: number;
  timer: NodeJS.Timeout | null;
}

export interface UdpPushStats {
  pushes: number;
  acks: number;
  retries: number;
  failures: number;
  refusedSubscribers: number;
}

/**
 * Pushes a service's changes over UDP to the v1 clients that subscribed to it by polling with a
 * `udpPort`, the way Nacos 1.x does: `{"type":"dom","data":"<instance/list JSON>","lastRefTime":n}`,
 * gzipped from 1 KiB on, answered by `{"type":"push-ack","lastRefTime":n,...}` from the client, sent
 * once more when no ack arrives in time, then given up (the client's next poll catches up).
 *
 * Changes come from the registry's watch hub, filtered to the subscribed services; a resync (a
 * snapshot restored, or this watcher falling behind) pushes every subscribed service.
 */
export class UdpPusher {
  readonly stats: UdpPushStats = { pushes: 0, acks: 0, retries: 0, failures: 0, refusedSubscribers: 0 };
  private readonly subscribers: PushSubscribers;
  private readonly pending = new Map<string, PendingAck>();
  private readonly pendingBySubscriber = new Map<string, string>();
  private readonly watcher: Watcher;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly sweepTimer: NodeJS.Timeout;
  private lastRefTime = 0;
  private closed = false;

  private constructor(
    private readonly registry: ZoneRegistry,
    private readonly socket: Socket,
    private readonly opts: UdpPushOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.subscribers = new PushSubscribers({ ttlMs: opts.subscriberTtlMs, max: opts.subscribersMax });
    socket.on('message', (msg, rinfo) => this.onAck(msg, rinfo));
    socket.on('error', (err) => log.warn({ err }, 'nacos udp push socket error'));
    this.watcher = registry.hub.watch({ services: this.subscribers.services }, () => this.scheduleFlush()).watcher;
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(50, Math.min(5000, opts.subscriberTtlMs / 2)));
    this.sweepTimer.unref();
  }

  /** Binds the push socket (an ephemeral port on `bindHost`, IPv4). */
  static async start(
    registry: ZoneRegistry,
    bindHost: string,
    opts: UdpPushOptions,
    log: FastifyBaseLogger,
  ): Promise<UdpPusher> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: isIPv4(bindHost) ? bindHost : '0.0.0.0' }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.unref();
    return new UdpPusher(registry, socket, opts, log);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The port pushes are sent from (acks come back to it). */
  get port(): number {
    return this.socket.address().port;
  }

  /** Records (or refreshes) a subscriber from a poll; false when the table is full. */
  subscribe(input: PushSubscriberInput): boolean {
    if (this.closed) return false;
    const ok = this.subscribers.touch(input, Date.now());
    if (!ok) this.stats.refusedSubscribers++;
    return ok;
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => this.flush(), this.opts.pushDelayMs);
    this.flushTimer.unref();
  }

  private flush(): void {
    this.flushTimer = null;
    if (this.closed) return;
    const keys = new Set<string>();
    for (const ev of this.registry.hub.drain(this.watcher)) {
      if (ev.type === 'resync') {
        for (const k of this.subscribers.services) keys.add(k);
        continue;
      }
      for (const c of ev.changes) {
        if (c.kind === 'instance') keys.add(serviceKeyOf(c.instance));
        else if (c.kind === 'service') keys.add(serviceKeyOf(c.service));
      }
    }
    for (const key of keys) this.pushService(key);
  }

  /** One list per distinct `clusters` asked for, built and compressed once, sent to each subscriber. */
  private pushService(serviceKey: string): void {
    const byClusters = new Map<string, PushSubscriber[]>();
    for (const sub of this.subscribers.ofService(serviceKey)) {
      const list = byClusters.get(sub.clusters);
      if (list) list.push(sub);
      else byClusters.set(sub.clusters, [sub]);
    }
    for (const [clusters, subs] of byClusters) {
      const first = subs[0]!;
      const nowMs = Date.now();
      const data = instanceListJson(
        this.registry.state,
        {
          namespace: first.namespace,
          name: first.name,
          clusters,
          healthyOnly: false,
          cacheMillis: this.opts.cacheMillis,
        },
        nowMs,
      );
      this.lastRefTime = Math.max(this.lastRefTime + 1, nowMs);
      const lastRefTime = this.lastRefTime;
      const json = Buffer.from(JSON.stringify({ type: 'dom', data, lastRefTime }));
      const bytes = json.length >= this.opts.gzipMinBytes ? gzipSync(json) : json;
      if (bytes.length > DATAGRAM_BYTES_MAX) {
        this.stats.failures += subs.length;
        this.log.warn(
          { service: serviceKey, bytes: bytes.length },
          'nacos push too large for one datagram; clients poll',
        );
        continue;
      }
      for (const sub of subs) this.startPush(sub, bytes, lastRefTime);
    }
  }

  private startPush(sub: PushSubscriber, bytes: Buffer, lastRefTime: number): void {
    // A newer push supersedes one still waiting for its ack: at most one pending per subscriber.
    const previous = this.pendingBySubscriber.get(sub.id);
    if (previous) this.dropPending(previous);
    const entry: PendingAck = {
      key: ackKey(sub.ip, sub.port, lastRefTime),
      subscriberId: sub.id,
      bytes,
      ip: sub.ip,
      port: sub.port,
      sends: 0,
      timer: null,
    };
    this.pending.set(entry.key, entry);
    this.pendingBySubscriber.set(sub.id, entry.key);
    this.stats.pushes++;
    this.send(entry);
  }

  private send(entry: PendingAck): void {
    entry.sends++;
    this.socket.send(entry.bytes, entry.port, entry.ip, (err) => {
      if (err) this.log.debug({ err, to: `${entry.ip}:${entry.port}` }, 'nacos push send failed');
    });
    entry.timer = setTimeout(() => this.onAckTimeout(entry.key), this.opts.ackTimeoutMs);
    entry.timer.unref();
  }

  private onAckTimeout(key: string): void {
    const entry = this.pending.get(key);
    if (!entry || this.closed) return;
    if (entry.sends <= this.opts.retries) {
      this.stats.retries++;
      this.send(entry);
      return;
    }
    this.stats.failures++;
    this.dropPending(key);
  }

  private onAck(msg: Buffer, rinfo: RemoteInfo): void {
    let ack: unknown;
    try {
      const raw = msg.length >= 2 && msg[0] === 0x1f && msg[1] === 0x8b ? gunzipSync(msg) : msg;
      ack = JSON.parse(raw.toString('utf8'));
    } catch {
      return; // not an ack; ignore
    }
    if (typeof ack !== 'object' || ack === null) return;
    const { type, lastRefTime } = ack as { type?: unknown; lastRefTime?: unknown };
    if (typeof type !== 'string' || !type.endsWith('-ack') || typeof lastRefTime !== 'number') return;
    const key = ackKey(unmapped(rinfo.address), rinfo.port, lastRefTime);
    if (!this.pending.has(key)) return;
    this.stats.acks++;
    this.dropPending(key);
  }

  private dropPending(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.pending.delete(key);
    if (this.pendingBySubscriber.get(entry.subscriberId) === key) this.pendingBySubscriber.delete(entry.subscriberId);
  }

  private sweep(): void {
    for (const sub of this.subscribers.expire(Date.now())) {
      const key = this.pendingBySubscriber.get(sub.id);
      if (key) this.dropPending(key);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const key of [...this.pending.keys()]) this.dropPending(key);
    this.registry.hub.unwatch(this.watcher);
    this.subscribers.clear();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

function ackKey(ip: string, port: number, lastRefTime: number): string {
  return `${ip},${port},${lastRefTime}`;
}
