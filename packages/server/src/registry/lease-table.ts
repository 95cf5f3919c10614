import { type Heartbeat, type Instance, leaseIdOf } from './model.js';

/** A lease the leader tracks for an instance that sends its own heartbeats. */
interface InstanceLease {
  readonly instance: Instance;
  lastRenewMs: number;
  /** What the registry currently says (so only transitions are proposed). */
  healthy: boolean;
}

interface SessionLease {
  readonly ttlMs: number;
  lastRenewMs: number;
}

/** What the leader should commit after a scan: only transitions, in batches. */
export interface LeaseTransitions {
  readonly unhealthy: Instance[];
  readonly healthyAgain: Instance[];
  readonly expired: Instance[];
  readonly expiredSessions: string[];
}

/**
 * The leader's in-memory leases. Renewals are not log entries: they only move `lastRenewMs` here.
 * A scan finds the instances that crossed a threshold (unhealthy, expired, or healthy again) and the
 * sessions whose TTL ran out; the caller commits those transitions through Raft.
 *
 * Times are from a monotonic clock, in ms. A new leader calls `grantAll` so that every lease gets a
 * full period before anything can expire: a leader change never expires a live instance.
 */
export class LeaseTable {
  private readonly instances = new Map<string, InstanceLease>();
  private readonly sessions = new Map<string, SessionLease>();

  get instanceLeaseCount(): number {
    return this.instances.size;
  }

  get sessionLeaseCount(): number {
    return this.sessions.size;
  }

  /** Starts or refreshes tracking of an instance that holds its own lease. */
  trackInstance(inst: Instance, nowMs: number): void {
    const id = leaseIdOf(inst);
    const cur = this.instances.get(id);
    this.instances.set(id, { instance: inst, lastRenewMs: cur?.lastRenewMs ?? nowMs, healthy: inst.healthy });
  }

  untrackInstance(id: string): void {
    this.instances.delete(id);
  }

  trackSession(id: string, ttlMs: number, nowMs: number): void {
    const cur = this.sessions.get(id);
    this.sessions.set(id, { ttlMs, lastRenewMs: cur?.lastRenewMs ?? nowMs });
  }

  untrackSession(id: string): void {
    this.sessions.delete(id);
  }

  /** Renews by lease id (`leaseIdOf`). False when no such lease is tracked: the client must re-register. */
  renewInstance(id: string, nowMs: number): boolean {
    const lease = this.instances.get(id);
    if (!lease) return false;
    if (nowMs > lease.lastRenewMs) lease.lastRenewMs = nowMs;
    return true;
  }

  renewSession(id: string, nowMs: number): boolean {
    const lease = this.sessions.get(id);
    if (!lease) return false;
    if (nowMs > lease.lastRenewMs) lease.lastRenewMs = nowMs;
    return true;
  }

  hasInstance(id: string): boolean {
    return this.instances.has(id);
  }

  hasSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /** A new leader: every lease starts a full period now. */
  grantAll(nowMs: number): void {
    for (const l of this.instances.values()) l.lastRenewMs = nowMs;
    for (const s of this.sessions.values()) s.lastRenewMs = nowMs;
  }

  /**
   * Transitions due at `nowMs`. Each is reported once: the table assumes the caller commits it
   * (expired leases leave the table now). If the commit fails because leadership moved, the next
   * leader rebuilds its table from the registry and grants fresh leases anyway.
   */
  scan(nowMs: number): LeaseTransitions {
    const out: LeaseTransitions = { unhealthy: [], healthyAgain: [], expired: [], expiredSessions: [] };
    for (const [id, lease] of this.instances) {
      const silentMs = nowMs - lease.lastRenewMs;
      const hb: Heartbeat = lease.instance.heartbeat;
      if (silentMs > hb.expireAfterMs) {
        out.expired.push(lease.instance);
        this.instances.delete(id);
      } else if (silentMs > hb.unhealthyAfterMs) {
        if (lease.healthy) out.unhealthy.push(lease.instance);
        lease.healthy = false;
      } else if (!lease.healthy) {
        out.healthyAgain.push(lease.instance);
        lease.healthy = true;
      }
    }
    for (const [id, s] of this.sessions) {
      if (nowMs - s.lastRenewMs > s.ttlMs) {
        out.expiredSessions.push(id);
        this.sessions.delete(id);
      }
    }
    return out;
  }

  clear(): void {
    this.instances.clear();
    this.sessions.clear();
  }
}
