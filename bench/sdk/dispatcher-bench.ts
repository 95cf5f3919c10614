import type { Registry } from '@cairn/client-sdk';
import { build, type Histogram } from 'hdr-histogram-js';
import { type Dispatcher, Pool, request } from 'undici';

export interface DispatcherOverhead {
  readonly bench: 'sdk.dispatcher';
  readonly requests: number;
  readonly concurrency: 1;
  readonly poolP50Us: number;
  readonly poolP99Us: number;
  readonly dispatcherP50Us: number;
  readonly dispatcherP99Us: number;
  readonly overheadP50Pct: number;
  readonly overheadP99Pct: number;
  /** Client-side CPU per request (this process: the caller's work, the server is another process). */
  readonly poolCpuUsPerRequest: number;
  readonly dispatcherCpuUsPerRequest: number;
}

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
}

async function timed(url: string, dispatcher: Dispatcher, h: Histogram | null): Promise<void> {
  const t0 = process.hrtime.bigint();
  const res = await request(url, { dispatcher });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  if (h) h.recordValue(Number((process.hrtime.bigint() - t0) / 1000n));
}

/**
 * Sequential GETs to one instance: through a plain undici Pool to its address, and through the
 * registry's Dispatcher to `http://<service>/`. Rounds alternate, so drift on the machine hits both.
 */
export async function measureDispatcher(
  registry: Registry,
  service: string,
  port: number,
  rounds: number,
  perRound: number,
): Promise<DispatcherOverhead> {
  const pool = new Pool(`http://127.0.0.1:${port}`);
  const cairn = registry.dispatcher();
  const direct = `http://127.0.0.1:${port}/`;
  const viaCairn = `http://${service}/`;
  const hPool = histogram();
  const hCairn = histogram();
  for (let i = 0; i < perRound; i++) {
    await timed(direct, pool, null);
    await timed(viaCairn, cairn, null);
  }
  let cpuPool = 0;
  let cpuCairn = 0;
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  for (let r = 0; r < rounds; r++) {
    let c0 = cpu();
    for (let i = 0; i < perRound; i++) await timed(direct, pool, hPool);
    cpuPool += cpu() - c0;
    c0 = cpu();
    for (let i = 0; i < perRound; i++) await timed(viaCairn, cairn, hCairn);
    cpuCairn += cpu() - c0;
  }
  await pool.close();
  const p = (h: Histogram, q: number) => h.getValueAtPercentile(q);
  const pct = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10;
  return {
    bench: 'sdk.dispatcher',
    requests: rounds * perRound,
    concurrency: 1,
    poolP50Us: p(hPool, 50),
    poolP99Us: p(hPool, 99),
    dispatcherP50Us: p(hCairn, 50),
    dispatcherP99Us: p(hCairn, 99),
    overheadP50Pct: pct(p(hPool, 50), p(hCairn, 50)),
    overheadP99Pct: pct(p(hPool, 99), p(hCairn, 99)),
    poolCpuUsPerRequest: Math.round((cpuPool / (rounds * perRound)) * 10) / 10,
    dispatcherCpuUsPerRequest: Math.round((cpuCairn / (rounds * perRound)) * 10) / 10,
  };
}
