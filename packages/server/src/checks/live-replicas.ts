import type { RaftNodeStatus } from '@cairn/raft';

/** The parts of a Raft node's status the view reads. */
export type ReplicaStatus = Pick<RaftNodeStatus, 'id' | 'role' | 'term' | 'leader' | 'conf' | 'progress' | 'transport'>;

/** The leader's view of which voters are live, as it serves it to the followers. */
export interface LeaderView {
  readonly leader: string;
  readonly term: number;
  /** Sorted voter ids. */
  readonly live: readonly string[];
}

/** Where a replica's current view comes from: its own leadership, the leader's answer, or its links. */
export type ViewSource = 'leader' | 'fetched' | 'local';

export interface EffectiveView {
  readonly live: readonly string[];
  readonly source: ViewSource;
}

export interface LiveReplicasOptions {
  /** A voter the leader has not heard from for this long is not live. */
  readonly liveWindowMs: number;
  /** A fetched leader view older than this is not trusted. */
  readonly viewStaleMs: number;
}

/**
 * Which voters of the zone are live, for spreading the active checks over them.
 *
 * The leader's view is the authority: a voter is live when the leader heard from it within the live
 * window (Raft's `recentActive`, sampled every round, since Raft clears it every election timeout).
 * That is also exactly the set of replicas whose results can reach the leader. A new leader counts
 * only itself until followers answer, so it over-checks for a moment rather than leave gaps.
 *
 * Followers use the view fetched from the leader while it is fresh and comes from the leader they know
 * in the current term. Otherwise (no leader, leader unreachable over HTTP, a new term) they fall back to
 * their own links: themselves plus the voters whose peer link is up. Every replica that counts itself
 * live checks what it wins among the replicas it counts, so by the rendezvous subset property an
 * instance goes unchecked only while someone still believes a dead replica live: one live window.
 */
export class LiveReplicas {
  private readonly lastActiveMs = new Map<string, number>();
  private leadingTerm = -1;
  private fetched: { readonly view: LeaderView; readonly atMs: number } | null = null;

  constructor(private readonly opts: LiveReplicasOptions) {}

  /** The leader samples which followers answered lately; call it every round (a no-op on followers). */
  observe(s: ReplicaStatus, nowMs: number): void {
    if (s.role !== 'leader') {
      this.leadingTerm = -1;
      this.lastActiveMs.clear();
      return;
    }
    if (this.leadingTerm !== s.term) {
      this.leadingTerm = s.term;
      this.lastActiveMs.clear();
    }
    for (const [id, pr] of Object.entries(s.progress)) if (id !== s.id && pr.active) this.lastActiveMs.set(id, nowMs);
  }

  /** The view this replica serves to followers; null unless it leads (and has observed this term). */
  leaderView(s: ReplicaStatus, nowMs: number): LeaderView | null {
    if (s.role !== 'leader' || this.leadingTerm !== s.term) return null;
    const live = s.conf.voters.filter(
      (v) => v === s.id || nowMs - (this.lastActiveMs.get(v) ?? Number.NEGATIVE_INFINITY) <= this.opts.liveWindowMs,
    );
    return { leader: s.id, term: s.term, live: [...live].sort() };
  }

  /** A view a follower fetched from its leader. */
  acceptFetched(view: LeaderView, nowMs: number): void {
    this.fetched = { view, atMs: nowMs };
  }

  effective(s: ReplicaStatus, nowMs: number): EffectiveView {
    const own = this.leaderView(s, nowMs);
    if (own) return { live: own.live, source: 'leader' };
    const f = this.fetched;
    if (f && f.view.leader === s.leader && f.view.term === s.term && nowMs - f.atMs <= this.opts.viewStaleMs) {
      return { live: f.view.live.filter((v) => s.conf.voters.includes(v)), source: 'fetched' };
    }
    return { live: localView(s), source: 'local' };
  }
}

/** This replica (when it votes) and the voters it has a working peer link with. */
export function localView(s: ReplicaStatus): string[] {
  return s.conf.voters
    .filter((v) => {
      if (v === s.id) return true;
      const link = s.transport.peers[v];
      return link !== undefined && (link.connected || link.inbound);
    })
    .sort();
}
