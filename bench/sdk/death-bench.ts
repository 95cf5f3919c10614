import type { Registry } from '@cairn/client-sdk';
import { InstanceProcess } from './instance-process.js';

export interface DeathToUnpicked {
  readonly bench: 'sdk.deathToUnpicked';
  /** push: SIGTERM, the SDK deregisters and the registry pushes; expiry: SIGKILL, the lease runs out. */
  readonly how: 'push' | 'expiry';
  readonly sessionTtlMs: number;
  readonly samplesMs: number[];
  readonly medianMs: number;
  readonly maxMs: number;
}

/**
 * Time from a local instance's death to the SDK no longer picking it: the watch delivers the
 * instance's removal and the picker drops it in the same step, so the view event marks the moment.
 * Three instances stay up, so push-empty protection never holds anything back.
 */
export async function measureDeath(
  registry: Registry,
  zone: string,
  server: string,
  how: 'push' | 'expiry',
  samples: number,
): Promise<DeathToUnpicked> {
  const service = `victims-${how}`;
  const view = registry.watch(service);
  const keep = await Promise.all([0, 1, 2].map(() => InstanceProcess.start(zone, server, service)));
  const out: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const victim = await InstanceProcess.start(zone, server, service);
      await until(() => view.instances.some((x) => x.port === victim.port), 10_000);
      const gone = new Promise<number>((resolve) => {
        const off = view.on((e) => {
          if (e.type === 'change' && !e.instances.some((x) => x.port === victim.port)) {
            off();
            resolve(performance.now());
          }
        });
      });
      const t0 = performance.now();
      await victim.end(how === 'push' ? 'SIGTERM' : 'SIGKILL');
      const t1 = await gone;
      if (registry.pick(service) && view.instances.some((x) => x.port === victim.port)) throw new Error('still picked');
      out.push(Math.round(t1 - t0));
    }
  } finally {
    await Promise.all(keep.map((k) => k.end('SIGKILL')));
  }
  const sorted = [...out].sort((a, b) => a - b);
  return {
    bench: 'sdk.deathToUnpicked',
    how,
    sessionTtlMs: 3000,
    samplesMs: out,
    medianMs: sorted[Math.floor(sorted.length / 2)]!,
    maxMs: sorted[sorted.length - 1]!,
  };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
