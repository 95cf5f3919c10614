import type { ReplicaPlan, ZonePlan } from './cluster-plan.js';

/**
 * Waits for each stage of a `cairn dev` start by polling the processes' own HTTP APIs. Every wait
 * is bounded, gives up at once when `signal` aborts (Ctrl-C during start-up), and fails early when
 * `gone()` says the processes it waits for have exited.
 */

const POLL_MS = 200;
const REQUEST_TIMEOUT_MS = 1500;

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** A reason to stop waiting (the process exited), or null. */
  readonly gone: () => string | null;
}

async function getJson(url: string, signal: AbortSignal): Promise<{ status: number; body: unknown } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });
    return { status: res.status, body: await res.json() };
  } catch {
    return null;
  }
}

/** Polls `check` until it returns a value; throws `what` on timeout. */
async function poll<T>(what: string, o: WaitOptions, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    o.signal.throwIfAborted();
    const found = await check();
    if (found !== null) return found;
    const reason = o.gone();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(o.timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Calls `onUp` for each replica as its /healthz first answers; resolves when all have. */
export async function waitForReplicasUp(
  replicas: readonly ReplicaPlan[],
  onUp: (r: ReplicaPlan) => void,
  o: WaitOptions,
): Promise<void> {
  const pending = new Set(replicas);
  await poll('the replicas did not come up', o, async () => {
    await Promise.all(
      [...pending].map(async (r) => {
        const res = await getJson(`${r.url}/healthz`, o.signal);
        if (res?.status === 200 && pending.delete(r)) onUp(r);
      }),
    );
    return pending.size === 0 ? true : null;
  });
}

/** The leader's id once every replica of the zone is ready and names the same leader. */
export function waitForLeader(zone: ZonePlan, o: WaitOptions): Promise<string> {
  return poll(`zone ${zone.zone} elected no leader`, o, async () => {
    const leaders = await Promise.all(
      zone.replicas.map(async (r) => {
        const res = await getJson(`${r.url}/readyz`, o.signal);
        return res?.status === 200 ? (res.body as { leader?: string }).leader || null : null;
      }),
    );
    const first = leaders[0];
    return first && leaders.every((l) => l === first) ? first : null;
  });
}

/** The leader each zone's replicas name now (for the summary); `?` when none answers. */
export async function currentLeaders(zones: readonly ZonePlan[]): Promise<Map<string, string>> {
  const signal = AbortSignal.timeout(5000);
  const out = new Map<string, string>();
  await Promise.all(
    zones.map(async (z) => {
      for (const r of z.replicas) {
        const res = await getJson(`${r.url}/v1/cluster`, signal);
        const leader = res?.status === 200 ? (res.body as { leader?: string }).leader : undefined;
        if (leader) {
          out.set(z.zone, leader);
          return;
        }
      }
      out.set(z.zone, '?');
    }),
  );
  return out;
}

/** Resolves once the federation's `GET /v1/zones` shows every zone live. */
export function waitForFederationLive(federationUrl: string, zones: readonly string[], o: WaitOptions): Promise<true> {
  return poll('the federation did not reach every zone', o, async () => {
    const res = await getJson(`${federationUrl}/v1/zones`, o.signal);
    if (res?.status !== 200) return null;
    const states = new Map(
      (res.body as { zones: { zone: string; state: string }[] }).zones.map((z) => [z.zone, z.state]),
    );
    return zones.every((z) => states.get(z) === 'live') ? true : null;
  });
}

/** Resolves once the federation's merged view holds at least `expected[service][zone]` instances of each. */
export function waitForServicesInView(
  federationUrl: string,
  expected: ReadonlyMap<string, ReadonlyMap<string, number>>,
  o: WaitOptions,
): Promise<true> {
  return poll('the demo services did not show in the federation', o, async () => {
    const res = await getJson(`${federationUrl}/v1/services?namespace=public&group=DEFAULT_GROUP`, o.signal);
    if (res?.status !== 200) return null;
    const services = new Map(
      (res.body as { services: { service: string; zones: Record<string, { total: number }> }[] }).services.map((s) => [
        s.service,
        s.zones,
      ]),
    );
    for (const [service, zones] of expected) {
      const seen = services.get(service);
      for (const [zone, count] of zones) if ((seen?.[zone]?.total ?? 0) < count) return null;
    }
    return true;
  });
}
