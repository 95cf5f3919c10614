import type { ReplicaRow } from './backend.js';
import { isRecord } from './http.js';

/**
 * A replica's `GET /v1/cluster` answer (packages/server/src/api/health-routes.ts), and how the
 * overview turns answers into replica rows.
 */

export interface ClusterMember {
  readonly id: string;
  readonly address: string;
  readonly voter: boolean;
  readonly leader: boolean;
  /** Only in the leader's answer: how far this member's log matches, and how far behind it is. */
  readonly match?: number;
  readonly lag?: number;
  readonly state?: string;
  readonly active?: boolean;
}

export interface ClusterStatus {
  readonly zone: string;
  readonly node: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commit: number;
  readonly applied: number;
  readonly revision: number;
  readonly members: readonly ClusterMember[];
}

/** The federation's `GET /v1/zones/:zone/cluster`: a live replica's answer plus every configured replica. */
export interface ZoneClusterAnswer extends Partial<ClusterStatus> {
  readonly replicas?: readonly { readonly url: string; readonly up: boolean; readonly cluster: ClusterStatus | null }[];
}

export function isClusterStatus(v: unknown): v is ClusterStatus {
  return isRecord(v) && typeof v['node'] === 'string' && typeof v['role'] === 'string' && Array.isArray(v['members']);
}

/** Rows from a zone server's own answer: itself in full, its peers as far as it knows them. */
export function replicasFromSelf(self: ClusterStatus): ReplicaRow[] {
  const rows = self.members.map((m): ReplicaRow => {
    const isSelf = m.id === self.node;
    return {
      id: m.id,
      address: m.address,
      up: isSelf ? true : (m.active ?? null),
      role: isSelf ? self.role : m.leader ? 'leader' : null,
      term: isSelf ? self.term : null,
      commit: isSelf ? self.commit : null,
      applied: isSelf ? self.applied : null,
      lag: m.lag ?? null,
      leader: m.leader,
      voter: m.voter,
      self: isSelf,
    };
  });
  if (!rows.some((r) => r.self)) {
    rows.unshift({
      id: self.node,
      address: '',
      up: true,
      role: self.role,
      term: self.term,
      commit: self.commit,
      applied: self.applied,
      lag: null,
      leader: self.leader === self.node,
      voter: null,
      self: true,
    });
  }
  return rows;
}

/** Rows from the federation's answer: every configured replica, each with its own view when it is up. */
export function replicasFromFederation(answer: ZoneClusterAnswer): ReplicaRow[] {
  const views = (answer.replicas ?? []).map((r) => r.cluster).filter(isClusterStatus);
  if (isClusterStatus(answer)) views.push(answer);
  const leaderView = views.find((v) => v.role === 'leader');
  const leaderCommit = leaderView?.commit ?? Math.max(0, ...views.map((v) => v.commit));
  const rows = (answer.replicas ?? []).map((r): ReplicaRow => {
    const c = isClusterStatus(r.cluster) ? r.cluster : null;
    const id = c?.node ?? hostOf(r.url);
    const progress = leaderView?.members.find((m) => m.id === id);
    return {
      id,
      address: r.url,
      up: r.up,
      role: c?.role ?? null,
      term: c?.term ?? null,
      commit: c?.commit ?? null,
      applied: c?.applied ?? null,
      lag: progress?.lag ?? (c ? Math.max(0, leaderCommit - c.applied) : null),
      leader: c !== null && c.role === 'leader',
      voter: progress?.voter ?? null,
      self: false,
    };
  });
  if (rows.length === 0 && isClusterStatus(answer)) return replicasFromSelf(answer).map((r) => ({ ...r, self: false }));
  return rows;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
