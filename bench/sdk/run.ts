/**
 * `npm run bench:sdk`: the client SDK's hot paths and reaction times, as JSON lines on stdout.
 *
 * - sdk.picks: picks per second on a 100-instance, 3-zone view (ZonePicker.pick, one thread), with
 *   the local zone healthy, degraded (spilling), and with a canary label selector; plus
 *   Registry.pick (the public call, with its service lookup) on a live view.
 * - sdk.dispatcher: latency of sequential GETs to one instance through a plain undici Pool and
 *   through the registry's Dispatcher (`http://<service>/`), p50/p99 and the overhead.
 * - sdk.deathToUnpicked: time from an instance's death to the SDK no longer picking it, when it
 *   deregisters (SIGTERM, push) and when its lease runs out (SIGKILL, 3 s TTL).
 *
 * One single-node `cairn server` on 127.0.0.1 (a temp dir) serves the live parts; everything is
 * stopped on exit. Flags: --quick (shorter runs).
 */
import { connect, type Registry } from '@cairn/client-sdk';
import { measureDeath } from './death-bench.js';
import { measureDispatcher } from './dispatcher-bench.js';
import { InstanceProcess } from './instance-process.js';
import { measurePicks } from './pick-bench.js';
import { ZoneProcess } from './zone-process.js';

const quick = process.argv.includes('--quick');

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function measureRegistryPick(registry: Registry, service: string, durationMs: number): object {
  let picks = 0;
  let sink = 0;
  const end = performance.now() + durationMs;
  const started = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 10_000; i++) sink += registry.pick(service)!.port;
    picks += 10_000;
  }
  const elapsedMs = performance.now() - started;
  if (sink === 0) throw new Error('unreachable');
  return {
    bench: 'sdk.picks',
    scenario: 'Registry.pick, live 1-instance view',
    picksPerSec: Math.round(picks / (elapsedMs / 1000)),
    nsPerPick: Math.round((elapsedMs * 1e6) / picks),
  };
}

async function main(): Promise<void> {
  const pickMs = quick ? 1000 : 3000;
  emit(measurePicks('3 zones healthy: all local', 34, undefined, pickMs));
  emit(measurePicks('az1 at 12 of 34 healthy: spilling', 12, undefined, pickMs));
  emit(measurePicks('canary label version=gray', 34, { version: 'gray' }, pickMs));

  const zone = await ZoneProcess.start('az1');
  const stops: (() => Promise<void>)[] = [() => zone.stop()];
  try {
    const registry = await connect({ zone: 'az1', servers: [zone.url], cacheDir: null });
    stops.unshift(() => registry.close());
    const target = await InstanceProcess.start('az1', zone.url, 'bench');
    stops.unshift(() => target.end('SIGKILL'));
    await registry.watch('bench').ready;
    emit(measureRegistryPick(registry, 'bench', pickMs));
    emit(await measureDispatcher(registry, 'bench', target.port, quick ? 3 : 10, quick ? 1000 : 2000));
    emit(await measureDeath(registry, 'az1', zone.url, 'push', quick ? 3 : 5));
    emit(await measureDeath(registry, 'az1', zone.url, 'expiry', quick ? 2 : 5));
  } finally {
    for (const stop of stops) await stop().catch(() => {});
  }
}

await main();
