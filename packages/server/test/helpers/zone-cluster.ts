// Starts real `cairn server` processes on 127.0.0.1 for tests, with level data in a temp dir, and
// always cleans up. Every test that needs a zone uses this instead of hand-rolled spawns.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * A port that is free now, chosen below the kernel's ephemeral range (32768+ on Linux): a replica
 * restarted on its old port must not find it taken by some outgoing connection in the meantime.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port found between 20000 and 32000');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export interface ReplicaProcess {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  proc: ChildProcess | null;
  /** Everything the process wrote, for diagnosing a failed test. */
  output: string;
}

export interface ZoneCluster {
  readonly zone: string;
  readonly replicas: ReplicaProcess[];
  readonly urls: string[];
  /** Waits until some replica reports a leader every live replica agrees on; returns its id. */
  leader(timeoutMs?: number): Promise<string>;
  replica(id: string): ReplicaProcess;
  kill(id: string, signal?: NodeJS.Signals): Promise<void>;
  /** Launches a stopped replica without waiting for it (a zone with no quorum is never ready alone). */
  start(id: string): void;
  restart(id: string): Promise<void>;
  waitReady(id: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ZoneClusterOptions {
  readonly zone?: string;
  readonly replicas?: number;
  readonly extraArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly logLevel?: string;
}

const SECRET = 'test-cluster-secret-0123456789';

export async function startZoneCluster(opts: ZoneClusterOptions = {}): Promise<ZoneCluster> {
  const zone = opts.zone ?? 'az1';
  const n = opts.replicas ?? 3;
  const root = mkdtempSync(join(tmpdir(), `cairn-${zone}-`));
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const replicas: ReplicaProcess[] = ports.map((port, i) => ({
    id: `n${i + 1}`,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir: join(root, `n${i + 1}`),
    proc: null,
    output: '',
  }));
  const peers = n > 1 ? replicas.map((r) => `${r.id}=127.0.0.1:${r.port}`).join(',') : '';

  const launch = (r: ReplicaProcess): void => {
    const args = [
      CLI,
      'server',
      '--zone',
      zone,
      '--node-id',
      r.id,
      '--listen',
      `127.0.0.1:${r.port}`,
      '--data-dir',
      r.dataDir,
      '--cluster-secret',
      SECRET,
      '--tick-ms',
      '50',
      '--log-level',
      opts.logLevel ?? 'warn',
      ...(peers ? ['--peers', peers] : []),
      ...(opts.extraArgs ?? []),
    ];
    const proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    r.proc = proc;
    const keep = (b: Buffer) => {
      r.output = (r.output + b.toString()).slice(-64 * 1024);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('exit', () => {
      if (r.proc === proc) r.proc = null;
    });
  };

  const status = async (r: ReplicaProcess): Promise<{ leader: string; role: string } | null> => {
    try {
      const res = await fetch(`${r.url}/v1/cluster`, { signal: AbortSignal.timeout(1000) });
      return res.ok ? ((await res.json()) as { leader: string; role: string }) : null;
    } catch {
      return null;
    }
  };

  const cluster: ZoneCluster = {
    zone,
    replicas,
    urls: replicas.map((r) => r.url),
    replica: (id) => {
      const r = replicas.find((x) => x.id === id);
      if (!r) throw new Error(`no replica ${id}`);
      return r;
    },
    async leader(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const live = replicas.filter((r) => r.proc);
        const views = await Promise.all(live.map(status));
        const leaders = new Set(views.map((v) => v?.leader ?? ''));
        const [only] = [...leaders];
        if (leaders.size === 1 && only && views.every((v) => v !== null) && live.some((r) => r.id === only))
          return only;
        await sleep(50);
      }
      throw new Error(`no agreed leader in zone ${zone} within ${timeoutMs} ms\n${dump(replicas)}`);
    },
    async kill(id, signal = 'SIGKILL') {
      const r = cluster.replica(id);
      const proc = r.proc;
      if (!proc) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      await exited;
    },
    start(id) {
      const r = cluster.replica(id);
      if (!r.proc) launch(r);
    },
    async restart(id) {
      const r = cluster.replica(id);
      if (r.proc) await cluster.kill(id, 'SIGTERM');
      launch(r);
      await cluster.waitReady(id);
    },
    async waitReady(id, timeoutMs = 30_000) {
      const r = cluster.replica(id);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(1000) });
          if (res.ok) return;
        } catch {
          // not listening yet
        }
        if (!r.proc) throw new Error(`replica ${id} exited\n${r.output}`);
        await sleep(50);
      }
      throw new Error(`replica ${id} not ready within ${timeoutMs} ms\n${r.output}`);
    },
    async stop() {
      await Promise.all(replicas.map((r) => cluster.kill(r.id, 'SIGKILL')));
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    for (const r of replicas) launch(r);
    await Promise.all(replicas.map((r) => cluster.waitReady(r.id)));
    await cluster.leader();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

function dump(replicas: readonly ReplicaProcess[]): string {
  return replicas.map((r) => `--- ${r.id} (${r.proc ? 'running' : 'down'})\n${r.output.slice(-4000)}`).join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
