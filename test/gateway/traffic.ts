// Steady traffic through the gateway, every answer recorded with its time and who answered, so that
// each stage of the test can count instances and failures over a time window afterwards.
import { Pool } from 'undici';

export interface Sample {
  /** performance.now() when the request was sent: HAProxy picks its server as it arrives. */
  readonly sentAtMs: number;
  /** performance.now() when the answer (or the failure) arrived. */
  readonly atMs: number;
  /** The instance id that answered, or null for a failed request (non-200 or no answer). */
  readonly instance: string | null;
  /** HTTP status, or the error code when there was no answer. */
  readonly outcome: string;
}

export interface WindowCounts {
  readonly total: number;
  readonly failed: number;
  readonly byInstance: ReadonlyMap<string, number>;
  /** Answered requests per zone (instance ids start with their zone: `az1-3`). */
  readonly byZone: ReadonlyMap<string, number>;
  /** Outcomes of the failed requests, e.g. `503` or `ECONNRESET`. */
  readonly failures: readonly string[];
}

export class TrafficRecorder {
  readonly samples: Sample[] = [];
  private readonly pool: Pool;
  private readonly timer: NodeJS.Timeout;
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();

  /**
   * Open loop: a request every `intervalMs` whatever the previous ones do (at most `inFlightMax` at
   * once), so that a request stuck on a dead server (HAProxy retries it for ~2 s) does not stop the
   * sampling of HAProxy's choices.
   */
  constructor(origin: string, intervalMs: number, inFlightMax: number) {
    this.pool = new Pool(origin, { connections: inFlightMax, keepAliveTimeout: 30_000 });
    this.timer = setInterval(() => {
      if (this.inFlight >= inFlightMax) return;
      const p = this.send().finally(() => this.pending.delete(p));
      this.pending.add(p);
    }, intervalMs);
  }

  private async send(): Promise<void> {
    this.inFlight++;
    let sample: Sample;
    const sentAtMs = performance.now();
    try {
      const res = await this.pool.request({ method: 'GET', path: '/', headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await res.body.text();
      sample = {
        sentAtMs,
        atMs: performance.now(),
        instance: res.statusCode === 200 ? body : null,
        outcome: String(res.statusCode),
      };
    } catch (err) {
      sample = {
        sentAtMs,
        atMs: performance.now(),
        instance: null,
        outcome: (err as { code?: string }).code ?? String(err),
      };
    } finally {
      this.inFlight--;
    }
    this.samples.push(sample);
  }

  /** Samples with fromMs <= atMs < toMs. */
  window(fromMs: number, toMs: number = performance.now()): WindowCounts {
    const byInstance = new Map<string, number>();
    const byZone = new Map<string, number>();
    const failures: string[] = [];
    let total = 0;
    for (const s of this.samples) {
      if (s.atMs < fromMs || s.atMs >= toMs) continue;
      total++;
      if (s.instance === null) {
        failures.push(s.outcome);
        continue;
      }
      byInstance.set(s.instance, (byInstance.get(s.instance) ?? 0) + 1);
      const zone = s.instance.slice(0, s.instance.indexOf('-'));
      byZone.set(zone, (byZone.get(zone) ?? 0) + 1);
    }
    return { total, failed: failures.length, byInstance, byZone, failures };
  }

  /** The last sample since `fromMs` that matches, or undefined. */
  last(fromMs: number, match: (s: Sample) => boolean): Sample | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i]!;
      if (s.atMs < fromMs) return undefined;
      if (match(s)) return s;
    }
    return undefined;
  }

  /** The first sample since `fromMs` that matches, or undefined. */
  first(fromMs: number, match: (s: Sample) => boolean): Sample | undefined {
    return this.samples.find((s) => s.atMs >= fromMs && match(s));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
    await this.pool.destroy();
  }
}

/** `{az1: 0.5, az2: 0.5}`-style shares of the answered requests, for messages. */
export function describeWindow(w: WindowCounts): string {
  const answered = w.total - w.failed;
  const zones = [...w.byZone.entries()]
    .sort()
    .map(([z, n]) => `${z} ${((100 * n) / Math.max(1, answered)).toFixed(1)}%`)
    .join(', ');
  const instances = [...w.byInstance.entries()]
    .sort()
    .map(([i, n]) => `${i}:${n}`)
    .join(' ');
  return `${w.total} requests, ${w.failed} failed [${[...new Set(w.failures)].join(',')}]; ${zones}; ${instances}`;
}
