import type { PersistEvent, RaftNodeStatus } from '@cairn/raft';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type PushStats, pushStatsOf } from '../api/watch/push-stats.js';
import type { AuthRefusals } from '../auth/auth-refusals.js';
import type { HealthChecker } from '../checks/health-checker.js';
import type { ZoneRegistry } from '../registry/zone-registry.js';

export interface ServerMetricsSources {
  readonly registry: ZoneRegistry;
  readonly checks: HealthChecker | null;
  /** Refusals of the auth guard, when authentication is on. */
  readonly authRefusals?: AuthRefusals | null;
  /** Add prom-client's process and Node.js metrics (CPU, RSS, event loop lag, GC). */
  readonly processMetrics?: boolean;
}

export interface ServerMetrics {
  /** A registry of this server's own, never the global default: several servers can share a process. */
  readonly registry: Registry;
  /** Stops the listeners the metrics hold on the registry and the Raft node. */
  close(): void;
}

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

/** Push latency buckets, in seconds: from a millisecond to ten seconds. */
const PUSH_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one zone server. Almost everything is read from the registry, the Raft
 * node and the checker when scraped (collect callbacks); the only hot-path work is one histogram
 * observation per applied entry that puts an instance, and a counter bump per leader change.
 */
export function createServerMetrics(src: ServerMetricsSources): ServerMetrics {
  const { registry: zone, checks } = src;
  const reg = new Registry();
  reg.setDefaultLabels({ zone: zone.zone, node: zone.raft.id });
  if (src.processMetrics ?? true) collectDefaultMetrics({ register: reg });
  const registers = [reg];

  // One Raft status per scrape: every gauge below reads the same instant.
  let cached: { atMs: number; status: RaftNodeStatus } | null = null;
  const raft = (): RaftNodeStatus => {
    const now = performance.now();
    if (!cached || now - cached.atMs > 50) cached = { atMs: now, status: zone.raft.status() };
    return cached.status;
  };
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  // --- Raft -------------------------------------------------------------------------------------
  gauge('cairn_raft_term', 'Current Raft term.', () => raft().term);
  gauge('cairn_raft_commit_index', 'Highest log index known committed.', () => raft().commit);
  gauge('cairn_raft_applied_index', 'Highest log index applied to the registry.', () => raft().applied);
  gauge('cairn_raft_last_index', 'Last index in the local log.', () => raft().lastIndex);
  gauge('cairn_raft_snapshot_index', 'Index of the latest snapshot.', () => raft().snapshotIndex);
  gauge('cairn_raft_voters', 'Voters in the current configuration.', () => raft().conf.voters.length);
  gauge('cairn_raft_pending_proposals', 'Proposals waiting to be applied.', () => raft().pendingProposals);
  gauge('cairn_raft_pending_reads', 'ReadIndex requests waiting.', () => raft().pendingReads);
  new Gauge({
    name: 'cairn_raft_role',
    help: 'The Raft role of this replica (1 for the current role).',
    labelNames: ['role'],
    registers,
    collect() {
      const role = raft().role;
      for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cairn_raft_follower_lag_entries',
    help: 'On the leader: entries each follower is behind the commit index.',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      const s = raft();
      for (const [peer, pr] of Object.entries(s.progress)) {
        if (peer !== s.id) this.set({ peer }, Math.max(0, s.commit - pr.match));
      }
    },
  });
  new Gauge({
    name: 'cairn_raft_peer_connected',
    help: 'Whether the outbound peer link to each member is open (1) or not (0).',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const [peer, link] of Object.entries(raft().transport.peers)) this.set({ peer }, link.connected ? 1 : 0);
    },
  });
  const leaderChanges = new Counter({
    name: 'cairn_raft_leader_changes_total',
    help: 'Times this replica learned of a new leader.',
    registers,
  });
  let lastLeader = zone.raft.leaderId;
  const offLeader = zone.raft.onLeaderChange((leader) => {
    if (leader !== '' && leader !== lastLeader) leaderChanges.inc();
    lastLeader = leader;
  });
  // The latency every commit waits on: one synced write of a Ready (entries and hard state) or a snapshot.
  const fsyncSeconds = new Histogram({
    name: 'cairn_raft_fsync_seconds',
    help: 'Duration of the synced writes of the Raft log and snapshots on this replica.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const onPersisted = (e: PersistEvent): void => {
    if (e.synced) fsyncSeconds.observe(e.ms / 1000);
  };
  zone.raft.on('persisted', onPersisted);
  const transport = [
    ['messages_sent', 'messagesSent', 'Raft messages sent to peers.'],
    ['messages_received', 'messagesReceived', 'Raft messages received from peers.'],
    ['messages_dropped', 'messagesDropped', 'Raft messages dropped (full queue, dead link, too large...).'],
    ['frames_sent', 'framesSent', 'Peer frames sent.'],
    ['frames_received', 'framesReceived', 'Peer frames received.'],
    ['frames_dropped', 'framesDropped', 'Inbound peer frames refused.'],
    ['links_opened', 'linksOpened', 'Outbound peer links opened, reconnections included.'],
    ['upgrades_refused', 'upgradesRefused', 'Peer connections refused (bad secret, not a member).'],
  ] as const;
  for (const [suffix, field, help] of transport) {
    mirroredCounter(reg, `cairn_raft_transport_${suffix}_total`, help, () => raft().transport[field]);
  }

  // --- Registry ---------------------------------------------------------------------------------
  gauge('cairn_registry_revision', 'Revision (Raft index) of the registry state this replica serves.', () => {
    return zone.revision;
  });
  mirroredCounter(reg, 'cairn_proposals_total', 'Commands proposed through this replica.', () => {
    return zone.counters.proposals;
  });
  mirroredCounter(reg, 'cairn_proposal_failures_total', 'Proposals refused, failed or timed out.', () => {
    return zone.counters.proposalFailures;
  });
  gauge('cairn_instances', 'Instances in the registry.', () => zone.state.totalInstances);
  // Counted at scrape time (one pass over the instances) rather than kept on the apply path.
  gauge('cairn_instances_healthy', 'Instances marked healthy.', () => {
    let n = 0;
    for (const inst of zone.state.allInstances()) if (inst.healthy) n++;
    return n;
  });
  gauge('cairn_services', 'Services in the registry.', () => zone.state.totalServices);
  gauge('cairn_namespaces', 'Namespaces in the registry.', () => zone.state.listNamespaces().length);
  gauge('cairn_sessions', 'Open SDK sessions.', () => zone.state.listSessions().length);
  new Gauge({
    name: 'cairn_leases',
    help: 'Leases the leader tracks (0 on followers), by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set({ kind: 'instance' }, zone.leases.instanceLeaseCount);
      this.set({ kind: 'session' }, zone.leases.sessionLeaseCount);
    },
  });
  mirroredCounter(reg, 'cairn_lease_renewals_total', 'Lease renewals received (rate() gives renewals/s).', () => {
    return zone.counters.renewals;
  });
  mirroredCounter(reg, 'cairn_lease_renewals_forwarded_total', 'Renewals a follower forwarded to the leader.', () => {
    return zone.counters.renewalsForwarded;
  });
  mirroredCounter(reg, 'cairn_lease_transitions_total', 'Lease transitions the leader committed.', () => {
    return zone.counters.transitions;
  });

  // --- Watches ----------------------------------------------------------------------------------
  gauge('cairn_watchers', 'Watchers subscribed on this replica.', () => zone.hub.watcherCount);
  const pushLatency = new Histogram({
    name: 'cairn_push_latency_seconds',
    help:
      'Time from a write being proposed (its command timestamp) to its publication to the watchers of this ' +
      'replica, for entries that put an instance; the socket write to each watcher is not included.',
    buckets: PUSH_LATENCY_BUCKETS,
    registers,
  });
  const offChange = zone.onChange((_rev, changes) => {
    for (const c of changes) {
      if (c.kind !== 'instance' || c.action !== 'put') continue;
      pushLatency.observe(Math.max(0, Date.now() - c.instance.updatedAt) / 1000);
      return; // one observation per entry: its changes share one timestamp
    }
  });

  // The push endpoints (when this server serves them) keep their own counters; read them when scraped.
  const push =
    <K extends keyof PushStats>(field: K) =>
    () =>
      Number(pushStatsOf(zone)?.[field] ?? 0);
  new Gauge({
    name: 'cairn_push_connections',
    help: 'Open push WebSockets, by kind (watch streams, SDK sessions).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set({ kind: 'watch' }, push('watchConnections')());
      this.set({ kind: 'session' }, push('sessionConnections')());
    },
  });
  gauge('cairn_push_subscriptions', 'Service subscriptions over push WebSockets.', push('subscriptions'));
  const pushCounters = [
    ['cairn_push_deltas_total', 'deltaMessages', 'Delta messages sent to watchers.'],
    ['cairn_push_snapshots_total', 'snapshots', 'Snapshots sent to watchers.'],
    ['cairn_push_resumes_total', 'resumes', 'Watchers that resumed from a revision without a snapshot.'],
    ['cairn_push_resyncs_total', 'resyncs', 'Watchers resynced (too far behind, or history too short).'],
    ['cairn_push_slow_consumers_closed_total', 'slowConsumersClosed', 'Watch sockets closed for not reading.'],
    ['cairn_push_refused_connections_total', 'refusedConnections', 'Push connections refused at a limit.'],
  ] as const;
  for (const [name, field, help] of pushCounters) mirroredCounter(reg, name, help, push(field));

  // --- Authentication -----------------------------------------------------------------------------
  const refusals = src.authRefusals;
  if (refusals) {
    mirroredLabelledCounter(
      reg,
      'cairn_auth_refusals_total',
      'Requests refused by authentication (401) or authorization (403), or logins over their rate, by reason and surface.',
      ['reason', 'surface'],
      () => refusals.snapshot(),
    );
  }

  // --- Active health checks ---------------------------------------------------------------------
  if (checks) {
    const byType = (pick: 'run' | 'failed') => () =>
      [
        [{ type: 'tcp' }, checks.counters.tcp[pick]],
        [{ type: 'http' }, checks.counters.http[pick]],
      ] as const;
    mirroredLabelledCounter(
      reg,
      'cairn_health_checks_total',
      'Active health checks run, by type.',
      ['type'],
      byType('run'),
    );
    mirroredLabelledCounter(
      reg,
      'cairn_health_check_failures_total',
      'Active health checks that failed (refused, timed out, wrong status...), by type.',
      ['type'],
      byType('failed'),
    );
    mirroredCounter(reg, 'cairn_health_check_transitions_total', 'Health transitions committed from checks.', () => {
      return checks.counters.transitionsCommitted;
    });
    mirroredCounter(reg, 'cairn_health_check_commit_failures_total', 'Failed commits of check transitions.', () => {
      return checks.counters.commitFailures;
    });
    gauge('cairn_health_check_targets', 'Instances this replica checks.', () => checks.stats.targets);
    gauge('cairn_health_check_in_flight', 'Checks running now.', () => checks.stats.inFlight);
    gauge('cairn_health_check_live_replicas', 'Replicas the checks are spread over.', () => {
      return checks.stats.liveReplicas.length;
    });
  }

  return {
    registry: reg,
    close() {
      offLeader();
      zone.raft.off('persisted', onPersisted);
      offChange();
    },
  };
}

/** A counter that mirrors a monotonic counter kept elsewhere, read when scraped. */
function mirroredCounter(reg: Registry, name: string, help: string, read: () => number): void {
  mirroredLabelledCounter(reg, name, help, [], () => [[{}, read()]]);
}

function mirroredLabelledCounter(
  reg: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly (readonly [Record<string, string>, number])[],
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [reg],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const before = last.get(key);
        if (before === undefined) this.inc(labels, 0); // shows the series at 0 before anything happened
        if (value > (before ?? 0)) this.inc(labels, value - (before ?? 0));
        last.set(key, Math.max(value, before ?? 0));
      }
    },
  });
}
