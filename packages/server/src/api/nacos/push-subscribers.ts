import { serviceKeyOf } from '../../registry/model.js';
import type { NacosServiceName } from './nacos-names.js';

/** A v1 client that polls `instance/list` with a `udpPort` and wants that service's changes pushed. */
export interface PushSubscriber {
  readonly id: string;
  readonly namespace: string;
  readonly name: NacosServiceName;
  /** The `clusters` it asked for, exactly as sent (the pushed list is built for them). */
  readonly clusters: string;
  readonly ip: string;
  readonly port: number;
  readonly agent: string;
  /** Registry service key (namespace/group/service). */
  readonly serviceKey: string;
  lastPollMs: number;
}

export type PushSubscriberInput = Omit<PushSubscriber, 'id' | 'serviceKey' | 'lastPollMs'>;

/**
 * The push subscribers of this replica, bounded. A subscriber lives as long as it keeps polling:
 * one that has not polled for `ttlMs` expires (Nacos drops "zombie" push clients the same way).
 * When the table is full, new subscribers are refused and simply keep polling.
 */
export class PushSubscribers {
  private readonly byId = new Map<string, PushSubscriber>();
  private readonly byService = new Map<string, Set<PushSubscriber>>();
  /** The services with at least one subscriber; a live set (the watch filter reads it). */
  readonly services = new Set<string>();

  constructor(private readonly opts: { readonly ttlMs: number; readonly max: number }) {}

  get size(): number {
    return this.byId.size;
  }

  /** Adds a subscriber or refreshes its last poll; false when the table is full. */
  touch(input: PushSubscriberInput, nowMs: number): boolean {
    const id = `${input.namespace}|${input.name.grouped}|${input.clusters}|${input.ip}:${input.port}`;
    const cur = this.byId.get(id);
    if (cur) {
      cur.lastPollMs = nowMs;
      return true;
    }
    if (this.byId.size >= this.opts.max) return false;
    const serviceKey = serviceKeyOf({
      namespace: input.namespace,
      group: input.name.group,
      service: input.name.service,
    });
    const sub: PushSubscriber = { ...input, id, serviceKey, lastPollMs: nowMs };
    this.byId.set(id, sub);
    let set = this.byService.get(serviceKey);
    if (!set) {
      set = new Set();
      this.byService.set(serviceKey, set);
      this.services.add(serviceKey);
    }
    set.add(sub);
    return true;
  }

  ofService(serviceKey: string): readonly PushSubscriber[] {
    return [...(this.byService.get(serviceKey) ?? [])];
  }

  /** Removes and returns the subscribers that have not polled for the TTL. */
  expire(nowMs: number): PushSubscriber[] {
    const gone: PushSubscriber[] = [];
    for (const sub of this.byId.values()) if (nowMs - sub.lastPollMs > this.opts.ttlMs) gone.push(sub);
    for (const sub of gone) this.remove(sub);
    return gone;
  }

  private remove(sub: PushSubscriber): void {
    this.byId.delete(sub.id);
    const set = this.byService.get(sub.serviceKey);
    set?.delete(sub);
    if (set && set.size === 0) {
      this.byService.delete(sub.serviceKey);
      this.services.delete(sub.serviceKey);
    }
  }

  clear(): void {
    this.byId.clear();
    this.byService.clear();
    this.services.clear();
  }
}
