import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AuthRefusals } from '../../auth/auth-refusals.js';
import type { ZoneState } from '../federated-view.js';
import type { MergedView } from '../view/merged-view.js';
import type { ZoneWatcher, ZoneWatcherStats } from '../zones/zone-watcher.js';

export const FEDERATION_METRICS_PATH = '/metrics';

export interface FederationMetricsSources {
  readonly view: MergedView;
  readonly watchers: readonly ZoneWatcher[];
  readonly nodeId: string;
  /** Add prom-client's process and Node.js metrics (CPU, RSS, event loop lag, GC). */
  readonly processMetrics?: boolean;
  /** The auth guard's refusal counts, once the auth plugin runs (null while auth is off). */
  readonly authRefusals?: () => AuthRefusals | null;
}

export interface FederationMetrics {
  /** A registry of this node's own, never the global default: several nodes can share a process. */
  readonly registry: Registry;
  /** Time from a zone message arriving to the view having applied it. */
  observeLagMs(zone: string, ms: number): void;
}

const STATES: readonly ZoneState[] = ['connecting', 'live', 'stale'];
/** Update lag buckets, in seconds: from 0.1 ms to 2.5 s. */
const LAG_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * The federation node's Prometheus metrics. Everything but the lag histogram is read from the view
 * and the watchers when scraped; the hot path only observes one histogram value per zone message.
 */
export function createFederationMetrics(src: FederationMetricsSources): FederationMetrics {
  const { view, watchers } = src;
  const reg = new Registry();
  reg.setDefaultLabels({ node: src.nodeId });
  if (src.processMetrics ?? true) collectDefaultMetrics({ register: reg });
  const registers = [reg];

  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  const perZone = (name: string, help: string, read: (z: ReturnType<MergedView['zones']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['zone'],
      registers,
      collect() {
        for (const z of view.zones()) this.set({ zone: z.zone }, read(z));
      },
    });
  const watcherCounter = (name: string, help: string, key: keyof Omit<ZoneWatcherStats, 'lastError'>) =>
    new Counter({
      name,
      help,
      labelNames: ['zone'],
      registers,
      collect() {
        this.reset();
        for (const w of watchers) this.inc({ zone: w.zone }, w.stats[key]);
      },
    });

  gauge(
    'cairn_federation_revision',
    "The federation's own revision (one per batch of merged changes).",
    () => view.revision,
  );
  gauge('cairn_federation_ready', '1 once every zone has been reached (or the start grace passed).', () =>
    view.ready ? 1 : 0,
  );
  new Gauge({
    name: 'cairn_federation_zones',
    help: 'Zones by state.',
    labelNames: ['state'],
    registers,
    collect() {
      const zones = view.zones();
      for (const s of STATES) this.set({ state: s }, zones.filter((z) => z.state === s).length);
    },
  });
  new Gauge({
    name: 'cairn_federation_zone_state',
    help: "1 for each zone's current state.",
    labelNames: ['zone', 'state'],
    registers,
    collect() {
      for (const z of view.zones()) for (const s of STATES) this.set({ zone: z.zone, state: s }, z.state === s ? 1 : 0);
    },
  });
  perZone(
    'cairn_federation_zone_staleness_seconds',
    'Seconds a zone has been stale or connecting (0 while live).',
    (z) => (z.staleSinceMs === null ? 0 : Math.max(0, (Date.now() - z.staleSinceMs) / 1000)),
  );
  perZone('cairn_federation_zone_last_contact_seconds', 'Seconds since the last message from the zone.', (z) =>
    z.lastContactMs === null ? -1 : Math.max(0, (Date.now() - z.lastContactMs) / 1000),
  );
  perZone('cairn_federation_zone_serving', "1 while the zone's instances are in the merged view.", (z) =>
    z.serving ? 1 : 0,
  );
  perZone('cairn_federation_zone_weight', "The zone's traffic weight (0-100).", (z) => z.weight);
  perZone('cairn_federation_zone_revision', "The zone registry's revision the federation holds.", (z) => z.revision);
  perZone('cairn_federation_zone_services', 'Services the zone holds.', (z) => z.services);
  perZone('cairn_federation_zone_instances', 'Instances the zone holds.', (z) => z.instances);
  perZone('cairn_federation_zone_healthy_instances', 'Healthy instances the zone holds.', (z) => z.healthyInstances);

  let counts: { atMs: number; value: ReturnType<MergedView['counts']> } | null = null;
  const viewCounts = (): ReturnType<MergedView['counts']> => {
    const now = performance.now();
    if (!counts || now - counts.atMs > 50) counts = { atMs: now, value: view.counts() };
    return counts.value;
  };
  gauge('cairn_federation_services', 'Services in the merged view.', () => viewCounts().services);
  gauge('cairn_federation_instances', 'Instances in the merged view.', () => viewCounts().instances);
  gauge(
    'cairn_federation_healthy_instances',
    'Healthy instances in the merged view.',
    () => viewCounts().healthyInstances,
  );

  watcherCounter('cairn_federation_zone_failovers_total', 'Times the watched replica was lost.', 'failovers');
  watcherCounter('cairn_federation_zone_resumes_total', 'Watches resumed by revision (no snapshot).', 'resumes');
  watcherCounter('cairn_federation_zone_snapshots_total', 'Complete zone snapshots received.', 'snapshots');
  watcherCounter('cairn_federation_zone_resyncs_total', 'Resyncs the zone asked for.', 'resyncs');
  watcherCounter('cairn_federation_zone_connects_total', 'Watch sockets opened.', 'connects');
  new Counter({
    name: 'cairn_federation_zone_refusals_total',
    help: "Watches a zone refused for this node's credentials: unauthenticated (no or a bad --zone-token) or forbidden (no read on *).",
    labelNames: ['zone', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const w of watchers) {
        this.inc({ zone: w.zone, reason: 'unauthenticated' }, w.stats.refusedUnauthenticated);
        this.inc({ zone: w.zone, reason: 'forbidden' }, w.stats.refusedForbidden);
      }
    },
  });

  const authRefusals = src.authRefusals;
  if (authRefusals) {
    new Counter({
      name: 'cairn_auth_refusals_total',
      help: 'Requests refused by authentication (401) or authorization (403), or logins over their rate, by reason and surface.',
      labelNames: ['reason', 'surface'],
      registers,
      collect() {
        this.reset();
        for (const [labels, n] of authRefusals()?.snapshot() ?? []) this.inc({ ...labels }, n);
      },
    });
  }

  const lag = new Histogram({
    name: 'cairn_federation_update_lag_seconds',
    help: 'Time from a zone message (delta or last snapshot part) arriving to the merged view having applied it.',
    labelNames: ['zone'],
    buckets: LAG_BUCKETS,
    registers,
  });

  return {
    registry: reg,
    observeLagMs: (zone, ms) => lag.observe({ zone }, ms / 1000),
  };
}
