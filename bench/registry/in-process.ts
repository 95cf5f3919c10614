// `node bench/dist/registry/in-process.js`: one zone replica's registry and Raft node in this process
// (single node, real LevelDB in a temp dir, no HTTP), driven through ZoneRegistry.execute. It measures
// what the registry and the Raft node cost without the API in front: CPU per registration, heap and
// RSS per instance, and the longest event-loop stall while the state machine is snapshotted and while
// a snapshot is restored. JSON lines on stdout.
//
//   node --expose-gc bench/dist/registry/in-process.js [--instances N] [--distinct-metadata] [--root DIR]
//
// --root runs another build of the repository (e.g. a copy of the dist folders from before a change).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { RegisterSpec } from '../../packages/server/src/registry/commands.js';
import type { RegistryState } from '../../packages/server/src/registry/registry-state.js';
import type { ZoneRegistry, ZoneRegistryOptions } from '../../packages/server/src/registry/zone-registry.js';
import { removeTempDir, trackTempDir } from '../raft/cleanup.js';
import { address, METADATA } from './instances.js';
import { emit, progress, round } from './report.js';

interface RegistryModules {
  ZoneRegistry: { start(opts: ZoneRegistryOptions): Promise<ZoneRegistry> };
  RegistryState: {
    restore(bytes: Uint8Array): RegistryState;
    restoreInSlices?(bytes: Uint8Array): Promise<RegistryState>;
  };
}

/** Enough of pino's Logger for the registry: keeps the snapshot log lines, drops the rest. */
function capturingLogger(snapshots: { atMs: number; ms: number; bytes: number }[]): Logger {
  const noop = (): void => {};
  const logger = {
    level: 'info',
    child: () => logger,
    info: (obj: unknown, msg?: string) => {
      if (msg === 'raft snapshot taken; log compacted') {
        const o = obj as { ms?: number; bytes?: number };
        snapshots.push({ atMs: performance.now(), ms: o.ms ?? Number.NaN, bytes: o.bytes ?? 0 });
      }
    },
    warn: noop,
    error: noop,
    debug: noop,
    trace: noop,
    fatal: noop,
  };
  return logger as unknown as Logger;
}

function spec(n: number, distinct: boolean): RegisterSpec {
  return {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service: `bench-mem-${Math.floor(n / 100)}`,
    cluster: 'DEFAULT',
    ...address(n),
    weight: 1,
    healthy: true,
    enabled: true,
    ephemeral: false,
    zone: 'az1',
    metadata: distinct ? { ...METADATA, 'app.kubernetes.io/instance': `checkout-api-${n}` } : METADATA,
    heartbeat: { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 30_000 },
    lease: null,
    check: null,
  };
}

/** Longest event-loop delay while `body` runs (1 ms resolution), and the run's own duration. */
async function stallDuring<T>(body: () => Promise<T>): Promise<{ value: T; maxStallMs: number; wallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const value = await body();
  const wallMs = performance.now() - t0;
  h.disable();
  // A histogram with no sample means the loop never turned: the whole run was one stall.
  return { value, maxStallMs: h.count === 0 ? wallMs : h.max / 1e6, wallMs };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '100000' },
      'distinct-metadata': { type: 'boolean', default: false },
      root: { type: 'string' },
      'in-flight': { type: 'string', default: '64' },
      // Default: one snapshot of (nearly) everything at the end, to measure its stall. The server's
      // default (20000) keeps the Raft log short, as in production: use it to measure memory.
      'snapshot-entries': { type: 'string' },
    },
  });
  const total = Number(values.instances);
  const inFlight = Number(values['in-flight']);
  const distinct = values['distinct-metadata'];
  const root = resolve(values.root ?? new URL('../../..', import.meta.url).pathname);
  const load = async (path: string) => import(pathToFileURL(join(root, path)).href);
  const mods: RegistryModules = {
    ZoneRegistry: (await load('packages/server/dist/src/registry/zone-registry.js')).ZoneRegistry,
    RegistryState: (await load('packages/server/dist/src/registry/registry-state.js')).RegistryState,
  };
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-inproc-'));
  trackTempDir(dir);
  const snapshots: { atMs: number; ms: number; bytes: number }[] = [];
  // The last registrations cross `snapshotEntries`, so one snapshot of (nearly) everything happens
  // while the load is light; the stall then measured is the snapshot's.
  const tail = 200;
  const snapshotEntries =
    values['snapshot-entries'] === undefined ? total - tail / 2 : Number(values['snapshot-entries']);
  const reg = await mods.ZoneRegistry.start({
    zone: 'az1',
    nodeId: 'n1',
    peers: {},
    advertiseAddress: '127.0.0.1:1',
    dataDir: join(dir, 'n1'),
    clusterSecret: 'bench-in-process-secret',
    logger: capturingLogger(snapshots),
    snapshotEntries,
  });
  try {
    while (!reg.isLeader) await new Promise((r) => setTimeout(r, 10));
    gc();
    const before = process.memoryUsage();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    const bulk = total - tail;
    const worker = async (): Promise<void> => {
      while (next < bulk) {
        const n = next++;
        await reg.execute({ op: 'register', instance: spec(n, distinct) });
      }
    };
    const reporter = setInterval(() => progress(`in-process: ${next} registered`), 10_000);
    const bulkRun = await stallDuring(() => Promise.all(Array.from({ length: inFlight }, worker)));
    clearInterval(reporter);
    const cpu = process.cpuUsage(cpu0);
    const seconds = (performance.now() - t0) / 1000;
    emit({
      measurement: 'in-process-registrations',
      instances: bulk,
      snapshotEntries,
      inFlight,
      distinctMetadata: distinct,
      perS: Math.round(bulk / seconds),
      cpuUsPerRegistration: round((cpu.user + cpu.system) / bulk, 1),
      maxStallMs: round(bulkRun.maxStallMs, 1),
      snapshotsTaken: snapshots.length,
    });
    await new Promise((r) => setTimeout(r, 500));
    const seen = snapshots.length;
    const tailRun = await stallDuring(async () => {
      for (let n = bulk; n < total; n++) await reg.execute({ op: 'register', instance: spec(n, distinct) });
      const deadline = performance.now() + (values['snapshot-entries'] === undefined ? 120_000 : 0);
      while (snapshots.length === seen && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    });
    const snap = snapshots[seen];
    emit({
      measurement: 'in-process-snapshot',
      instances: reg.state.totalInstances,
      snapshotTaken: snap !== undefined,
      snapshotBytes: snap?.bytes,
      snapshotMs: snap?.ms,
      maxStallMs: round(tailRun.maxStallMs, 1),
      note: 'maxStallMs: longest event-loop delay during 200 sequential registrations that cross a snapshot',
    });
    gc();
    const held = process.memoryUsage();
    emit({
      measurement: 'in-process-memory',
      note: 'after the snapshot compacted the Raft log; heap and RSS growth since start over instances held',
      instances: reg.state.totalInstances,
      heapBytesPerInstance: Math.round((held.heapUsed - before.heapUsed) / reg.state.totalInstances),
      rssBytesPerInstance: Math.round((held.rss - before.rss) / reg.state.totalInstances),
      heapMiB: round(held.heapUsed / 2 ** 20, 1),
      heapTotalMiB: round(held.heapTotal / 2 ** 20, 1),
      externalMiB: round(held.external / 2 ** 20, 1),
      rssMiB: round(held.rss / 2 ** 20, 1),
    });
    // The build before binary snapshots only had the JSON form.
    const restoreFrom =
      'encodeSnapshotNow' in reg.state
        ? (reg.state as { encodeSnapshotNow(): Uint8Array }).encodeSnapshotNow()
        : (reg.state as { snapshot(): Uint8Array }).snapshot();
    gc();
    const restoreRun = await stallDuring(async () =>
      mods.RegistryState.restoreInSlices
        ? mods.RegistryState.restoreInSlices(restoreFrom)
        : mods.RegistryState.restore(restoreFrom),
    );
    emit({
      measurement: 'in-process-restore',
      instances: restoreRun.value.totalInstances,
      snapshotBytes: restoreFrom.byteLength,
      restoreMs: round(restoreRun.wallMs, 1),
      maxStallMs: round(restoreRun.maxStallMs, 1),
    });
  } finally {
    await reg.close();
    removeTempDir(dir);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`in-process bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
});
