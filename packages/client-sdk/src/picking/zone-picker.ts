import type { Clock, TimerHandle } from '../clock.js';
import { type Instance, inTraffic } from '../instance.js';
import { InstanceState } from './instance-state.js';
import { type Labels, matchesLabels, selectorKey } from './label-selector.js';
import { OutlierDetector, type OutlierOptions } from './outlier-detector.js';
import { planZones, type ZoneHealth, type ZoneMode, type ZonePlan } from './zone-plan.js';
import type { ZonePolicy } from './zone-policy.js';

/**
 * What to do when no instance carrying the asked labels is healthy: `all` picks from the whole
 * service instead (a canary route degrades to the stable version), `none` picks nothing.
 */
export type LabelFallback = 'all' | 'none';

export interface PickerConfig {
  readonly policy: ZonePolicy;
  /** null: no outlier ejection. */
  readonly outliers: OutlierOptions | null;
  readonly labelFallback: LabelFallback;
  /** Uniform in [0, 1); injectable so tests replay. */
  readonly random: () => number;
  readonly clock: Clock;
  /**
   * How long an instance that left the view still counts (as unhealthy) in its zone unless a new
   * instance of that zone replaces it (default 30000; 0: not at all). The registry forgets an
   * instance whose process died once its lease runs out; without this memory, a zone that lost four
   * of five instances would look fully healthy and keep every call on the survivor.
   */
  readonly departedMemoryMs?: number;
}

interface Departed {
  readonly instance: Instance;
  readonly timer: TimerHandle | null;
}

/** Counts since the picker was created. */
export interface PickCounters {
  picks: number;
  /** Picks in the caller's zone. */
  local: number;
  crossZone: number;
  /** Picks made in panic (unhealthy instances were candidates). */
  panic: number;
  /** Picks where no instance carried the labels and the whole service was used. */
  labelFallback: number;
  /** Calls to pick that found nothing. */
  none: number;
}

export interface ZoneExplanation extends ZoneHealth {
  readonly local: boolean;
  readonly ejected: number;
  /** Fraction of calls this zone gets now. */
  readonly share: number;
}

export interface PickExplanation {
  readonly zone: string;
  readonly mode: ZoneMode;
  readonly reason: string;
  readonly localShare: number;
  readonly zones: readonly ZoneExplanation[];
  readonly labels: Labels | undefined;
  readonly labelFallback: boolean;
  readonly ejected: number;
  readonly counters: Readonly<PickCounters>;
}

interface ZoneSlot {
  readonly zone: string;
  readonly local: boolean;
  /** Cumulative share up to and including this zone. */
  readonly upTo: number;
  readonly candidates: readonly InstanceState[];
  /** Cumulative weights of the candidates, for sampling in proportion to weight. */
  readonly cumWeight: Float64Array;
  readonly totalWeight: number;
}

interface PickPlan {
  readonly zonePlan: ZonePlan;
  readonly health: readonly ZoneHealth[];
  readonly slots: readonly ZoneSlot[];
  readonly labelFallback: boolean;
  readonly panic: boolean;
}

const PLANS_MAX = 64;
const EMPTY_COUNTERS: PickCounters = { picks: 0, local: 0, crossZone: 0, panic: 0, labelFallback: 0, none: 0 };

/**
 * Picks instances of one service: zone first (see ZonePolicy), then within the zone by weight-aware
 * power of two choices — two candidates sampled in proportion to weight, the one with fewer calls
 * in flight per unit of weight wins (ties go to the first sample, so an idle client follows weights
 * exactly in expectation). Why not smooth weighted round-robin: it costs O(instances) per pick, every
 * process starts its rotation at the same heaviest instance, and it cannot see a slow instance;
 * P2C costs O(log instances), needs no shared rotation state that a view change resets, and steers
 * away from instances that are slow to answer.
 *
 * Plans (zone shares and candidate tables) are built once per view change, ejection or return, and
 * per label selector; a pick reads a plan and draws up to three random numbers.
 */
export class ZonePicker {
  readonly counters: PickCounters = { ...EMPTY_COUNTERS };
  private readonly states = new Map<string, InstanceState>();
  /** Instances that left the view recently, oldest first. */
  private readonly departed = new Map<string, Departed>();
  private readonly outliers: OutlierDetector | null;
  private defaultPlan: PickPlan | null = null;
  private readonly plans = new Map<string, PickPlan>();
  private inTrafficCount = 0;

  constructor(private readonly config: PickerConfig) {
    this.outliers = config.outliers
      ? new OutlierDetector(config.outliers, config.clock, () => this.invalidate())
      : null;
  }

  /**
   * Replaces the view of the service. What this client knows per instance is kept by id; instances
   * that leave are remembered for a while (see `departedMemoryMs`) unless newcomers of their zone
   * replace them.
   */
  update(instances: readonly Instance[]): void {
    const seen = new Set<string>();
    const newcomers = new Map<string, number>();
    for (const inst of instances) {
      seen.add(inst.id);
      const s = this.states.get(inst.id);
      if (s) {
        s.instance = inst;
        continue;
      }
      this.states.set(inst.id, new InstanceState(inst));
      if (this.departed.has(inst.id)) this.forgetDeparted(inst.id);
      else newcomers.set(inst.zone, (newcomers.get(inst.zone) ?? 0) + 1);
    }
    for (const [id, s] of this.states) {
      if (seen.has(id)) continue;
      this.outliers?.forget(s);
      this.states.delete(id);
      if (inTraffic(s.instance)) this.rememberDeparted(s.instance);
    }
    for (const [zone, n] of newcomers) {
      let left = n;
      for (const [id, d] of this.departed) {
        if (left === 0) break;
        if (d.instance.zone !== zone) continue;
        this.forgetDeparted(id);
        left--;
      }
    }
    let n = 0;
    for (const s of this.states.values()) if (inTraffic(s.instance)) n++;
    this.inTrafficCount = n;
    this.invalidate();
  }

  get size(): number {
    return this.states.size;
  }

  instances(): Instance[] {
    return [...this.states.values()].map((s) => s.instance);
  }

  /** The hot path: an instance to call, or undefined when the service has none in traffic. */
  pick(labels?: Labels): Instance | undefined {
    return this.pickState(labels)?.instance;
  }

  pickState(labels?: Labels, excludeId?: string): InstanceState | undefined {
    const plan = labels === undefined ? (this.defaultPlan ?? this.build(undefined)) : this.planFor(labels);
    const slots = plan.slots;
    const c = this.counters;
    if (slots.length === 0) {
      c.none++;
      return undefined;
    }
    let slot = slots[0]!;
    if (slots.length > 1) {
      const r = this.config.random();
      for (let i = 0; i < slots.length; i++) {
        slot = slots[i]!;
        if (r < slot.upTo) break;
      }
    }
    let s = this.choose(slot);
    if (excludeId !== undefined && s.instance.id === excludeId) {
      const other = this.other(plan, excludeId);
      if (other === undefined) {
        c.none++;
        return undefined;
      }
      s = other;
      slot = slots.find((x) => x.candidates.includes(other))!;
    }
    c.picks++;
    if (slot.local) c.local++;
    else c.crossZone++;
    if (plan.panic) c.panic++;
    if (plan.labelFallback) c.labelFallback++;
    return s;
  }

  /** A call to the instance starts (power of two choices counts calls in flight). */
  begin(s: InstanceState): void {
    s.inFlight++;
  }

  /** The call ended: `ok` feeds outlier ejection; undefined (the caller gave up) counts neither way. */
  end(s: InstanceState, ok: boolean | undefined): void {
    if (s.inFlight > 0) s.inFlight--;
    if (ok !== undefined) this.outcome(s, ok);
  }

  /** Reports how a call to an instance went, for callers who pick and call by themselves. */
  report(instanceId: string, ok: boolean): void {
    const s = this.states.get(instanceId);
    if (s) this.outcome(s, ok);
  }

  state(instanceId: string): InstanceState | undefined {
    return this.states.get(instanceId);
  }

  explain(labels?: Labels): PickExplanation {
    const plan = labels === undefined ? (this.defaultPlan ?? this.build(undefined)) : this.planFor(labels);
    const ejectedByZone = new Map<string, number>();
    for (const s of this.states.values()) {
      if (s.ejected) ejectedByZone.set(s.instance.zone, (ejectedByZone.get(s.instance.zone) ?? 0) + 1);
    }
    const zones = plan.health.map((h) => ({
      ...h,
      local: h.zone === this.config.policy.localZone,
      ejected: ejectedByZone.get(h.zone) ?? 0,
      share: plan.zonePlan.shares.find((x) => x.zone === h.zone)?.share ?? 0,
    }));
    return {
      zone: this.config.policy.localZone,
      mode: plan.zonePlan.mode,
      reason: plan.labelFallback
        ? `no healthy instance carries ${JSON.stringify(labels)}: using the whole service; ${plan.zonePlan.reason}`
        : plan.zonePlan.reason,
      localShare: plan.zonePlan.localShare,
      zones,
      labels,
      labelFallback: plan.labelFallback,
      ejected: this.outliers?.ejected ?? 0,
      counters: { ...this.counters },
    };
  }

  /** Stops ejection and memory timers; the picker keeps answering from its last view. */
  close(): void {
    for (const s of this.states.values()) this.outliers?.forget(s);
    for (const id of [...this.departed.keys()]) this.forgetDeparted(id);
    this.invalidate();
  }

  private outcome(s: InstanceState, ok: boolean): void {
    if (this.outliers === null) return;
    if (ok) this.outliers.success(s);
    else this.outliers.failure(s, this.inTrafficCount);
  }

  private invalidate(): void {
    this.defaultPlan = null;
    this.plans.clear();
  }

  private rememberDeparted(instance: Instance): void {
    const memoryMs = this.config.departedMemoryMs ?? 30_000;
    if (memoryMs <= 0) return;
    const timer = this.config.clock.setTimer(() => {
      this.departed.delete(instance.id);
      this.invalidate();
    }, memoryMs);
    this.departed.set(instance.id, { instance, timer });
  }

  private forgetDeparted(id: string): void {
    this.departed.get(id)?.timer?.cancel();
    this.departed.delete(id);
  }

  private planFor(labels: Labels): PickPlan {
    const key = selectorKey(labels);
    if (key === '') return this.defaultPlan ?? this.build(undefined);
    const cached = this.plans.get(key);
    if (cached) return cached;
    if (this.plans.size >= PLANS_MAX) this.plans.clear();
    const plan = this.build(labels);
    this.plans.set(key, plan);
    return plan;
  }

  private build(labels: Labels | undefined): PickPlan {
    const all: InstanceState[] = [];
    for (const s of this.states.values()) if (inTraffic(s.instance)) all.push(s);
    let set = all;
    let labelFallback = false;
    if (labels !== undefined && Object.keys(labels).length > 0) {
      set = all.filter((s) => matchesLabels(s.instance.metadata, labels));
      if (this.config.labelFallback === 'all' && !set.some((s) => s.usable)) {
        set = all;
        labelFallback = true;
      }
    }
    const gone: Instance[] = [];
    for (const d of this.departed.values()) {
      if (labels === undefined || labelFallback || matchesLabels(d.instance.metadata, labels)) gone.push(d.instance);
    }
    const health = zoneHealth(set, gone);
    const zonePlan = planZones(health, this.config.policy);
    let upTo = 0;
    const slots: ZoneSlot[] = zonePlan.shares.map((share, i) => {
      upTo = i === zonePlan.shares.length - 1 ? 1 : upTo + share.share;
      const candidates = set.filter((s) => s.instance.zone === share.zone && (zonePlan.includeUnhealthy || s.usable));
      if (candidates.length === 0) throw new Error(`invariant: zone ${share.zone} has a share but no candidate`);
      const cumWeight = new Float64Array(candidates.length);
      let total = 0;
      candidates.forEach((s, j) => {
        total += s.instance.weight;
        cumWeight[j] = total;
      });
      return { zone: share.zone, local: share.local, upTo, candidates, cumWeight, totalWeight: total };
    });
    const plan = { zonePlan, health, slots, labelFallback, panic: zonePlan.mode === 'panic' };
    if (labels === undefined) this.defaultPlan = plan;
    return plan;
  }

  private choose(slot: ZoneSlot): InstanceState {
    const c = slot.candidates;
    if (c.length === 1) return c[0]!;
    const a = c[this.sample(slot)]!;
    const b = c[this.sample(slot)]!;
    if (a.inFlight === b.inFlight) return a;
    return a.inFlight * b.instance.weight <= b.inFlight * a.instance.weight ? a : b;
  }

  /** An index drawn in proportion to weight (binary search over cumulative weights). */
  private sample(slot: ZoneSlot): number {
    const r = this.config.random() * slot.totalWeight;
    const w = slot.cumWeight;
    let lo = 0;
    let hi = w.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r < w[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** For a retry: any other candidate of the plan, preferring its own zone order. */
  private other(plan: PickPlan, excludeId: string): InstanceState | undefined {
    for (const slot of plan.slots) {
      const rest = slot.candidates.filter((s) => s.instance.id !== excludeId);
      if (rest.length > 0) return rest[Math.floor(this.config.random() * rest.length)];
    }
    return undefined;
  }
}

type MutableZoneHealth = { -readonly [K in keyof ZoneHealth]: ZoneHealth[K] };

function zoneHealth(set: readonly InstanceState[], departed: readonly Instance[]): ZoneHealth[] {
  const byZone = new Map<string, MutableZoneHealth>();
  const of = (zone: string): MutableZoneHealth => {
    let z = byZone.get(zone);
    if (!z) {
      z = { zone, total: 0, healthy: 0, departed: 0, totalWeight: 0, healthyWeight: 0 };
      byZone.set(zone, z);
    }
    return z;
  };
  for (const d of departed) of(d.zone).departed++;
  for (const s of set) {
    const z = of(s.instance.zone);
    z.total++;
    z.totalWeight += s.instance.weight;
    if (s.usable) {
      z.healthy++;
      z.healthyWeight += s.instance.weight;
    }
  }
  return [...byZone.values()].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
}
