// `npm run bench:federation`: zones of real `cairn server` processes and real `cairn federation`
// processes on 127.0.0.1, measured one thing at a time; one JSON line per measurement on stdout, then
// a summary line; progress on stderr. Processes and temp dirs are removed on any exit (SIGINT too).
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { installCleanupHandlers, removeTempDir, trackTempDir } from '../raft/cleanup.js';
import { pollUntil } from '../raft/wait.js';
import { ReplicaPools } from '../registry/http.js';
import { rssBytes } from '../registry/proc-memory.js';
import { parseFederationBenchArgs } from './args.js';
import { type BenchZone, startZones } from './bench-zones.js';
import { FederationNode } from './federation-node.js';
import { measurePropagation } from './propagation.js';
import { emit, loadAverage, progress } from './report.js';
import { loadZones, measureChangeCost, measureConvergence } from './scale.js';

async function main(): Promise<void> {
  const options = parseFederationBenchArgs(process.argv.slice(2));
  installCleanupHandlers();
  const startedAt = performance.now();
  const rootDir = mkdtempSync(join(tmpdir(), 'cairn-bench-federation-'));
  trackTempDir(rootDir);
  emit({
    measurement: 'setup',
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    zones: options.zones,
    replicasPerZone: options.replicas,
    instancesPerZone: options.only.has('scale') ? options.instancesPerZone : 0,
    samples: options.only.has('propagation') ? options.samples : 0,
    loadAverage: loadAverage(),
  });

  const done: string[] = [];
  const failed: Record<string, string> = {};
  const summary: Record<string, unknown> = {};
  let zones: BenchZone[] = [];
  let pools: ReplicaPools | undefined;
  let federation: FederationNode | undefined;
  const held = new Map<string, number>();
  const hold = (byZone: ReadonlyMap<string, number>) => {
    for (const [z, n] of byZone) held.set(z, (held.get(z) ?? 0) + n);
  };
  const step = async (name: string, body: () => Promise<void>): Promise<boolean> => {
    progress(`${name}...`);
    try {
      await body();
      done.push(name);
      return true;
    } catch (error) {
      failed[name] = error instanceof Error ? error.message : String(error);
      progress(`${name} failed: ${failed[name]}\n${zones.map((z) => z.logTails()).join('\n')}`);
      if (federation) progress(federation.process.logTail());
      return false;
    }
  };
  const startFederation = async (name: string): Promise<FederationNode> => {
    federation = await FederationNode.start(rootDir, name, zones);
    return federation;
  };
  const stopFederation = async (): Promise<void> => {
    await federation?.stop();
    federation = undefined;
  };

  try {
    progress(`starting ${options.zones} zones of ${options.replicas} replica(s)`);
    zones = await startZones(rootDir, options.zones, options.replicas);
    pools = new ReplicaPools(
      zones.flatMap((z) => z.origins),
      options.concurrency + 8,
    );
    let baselineRss: number | undefined;

    if (options.only.has('propagation')) {
      await step('propagation (empty zones)', async () => {
        const fed = await startFederation('federation-1');
        await pollUntil(
          'the federation live on every zone',
          async () => ((await fed.zones()).every((z) => z.state === 'live') ? true : undefined),
          60_000,
        );
        const result = await measurePropagation('empty', zones, pools!, fed, options.samples, 0);
        hold(result.registeredByZone);
        summary['propagationEmpty'] = pick(result.line, ['rest', 'dns'], ['p50Ms', 'p99Ms', 'maxMs']);
        baselineRss = rssBytes(fed.pid);
        await stopFederation();
      });
    }

    if (options.only.has('scale')) {
      let loaded: ReadonlyMap<string, number> = new Map();
      const ok = await step('load', async () => {
        loaded = await loadZones(zones, pools!, options.instancesPerZone, options.concurrency, options.loadBudgetMs);
        hold(loaded);
      });
      if (ok) {
        const converged = await step('converge', async () => {
          const spawnedAt = performance.now();
          const fed = await startFederation('federation-2');
          const line = await measureConvergence(fed, spawnedAt, held, options.convergeTimeoutMs, baselineRss);
          summary['converge'] = pickKeys(line, [
            'instances',
            'convergeMs',
            'cpuUsPerInstance',
            'rssMiBSettled',
            'rssBytesPerInstance',
          ]);
        });
        if (converged) {
          await step('changes', async () => {
            const line = await measureChangeCost(zones, pools!, federation!, loaded, options.changes);
            summary['changes'] = pickKeys(line, ['changes', 'federationCpuUsPerChange']);
          });
          if (options.only.has('propagation')) {
            await step('propagation (at scale)', async () => {
              const total = [...held.values()].reduce((a, b) => a + b, 0);
              const result = await measurePropagation('at-scale', zones, pools!, federation!, options.samples, total);
              summary['propagationAtScale'] = pick(result.line, ['rest', 'dns'], ['p50Ms', 'p99Ms', 'maxMs']);
            });
          }
        }
      }
    }
  } finally {
    await stopFederation().catch(() => {});
    await pools?.close();
    await Promise.all(zones.flatMap((z) => z.replicas.map((r) => r.process.stop())));
    removeTempDir(rootDir);
  }
  emit({
    measurement: 'summary',
    done,
    failed,
    ...summary,
    targetP99Ms: 100,
    totalSeconds: Math.round((performance.now() - startedAt) / 1000),
    loadAverage: loadAverage(),
  });
  if (Object.keys(failed).length > 0) process.exitCode = 1;
}

function pickKeys(line: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, line[k]]));
}

function pick(
  line: Record<string, unknown>,
  parts: readonly string[],
  keys: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(parts.map((p) => [p, pickKeys((line[p] ?? {}) as Record<string, unknown>, keys)]));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:federation failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
});
