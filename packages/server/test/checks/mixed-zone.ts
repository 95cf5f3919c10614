// A zone of three replicas on 127.0.0.1: n1 and n2 are real `cairn server` processes, n3 runs in this
// process so a test can commit commands through it (and read its state) without any client API.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/config/server-config.js';
import { type ApiPlugin, startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { CLI, freePort } from '../helpers/zone-cluster.js';
import { waitFor } from './local-targets.js';

const SECRET = 'test-cluster-secret-0123456789';
export const PROCESS_IDS = ['n1', 'n2'] as const;
export const LOCAL_ID = 'n3';

export interface MixedZone {
  readonly urls: Readonly<Record<string, string>>;
  readonly local: ZoneServer;
  /** The running processes (null once killed). */
  readonly procs: Map<string, ChildProcess | null>;
  readonly output: Map<string, string>;
  kill(id: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startMixedZone(plugins: readonly ApiPlugin[]): Promise<MixedZone> {
  const root = mkdtempSync(join(tmpdir(), 'cairn-checks-zone-'));
  const ports: Record<string, number> = {};
  for (const id of [...PROCESS_IDS, LOCAL_ID]) ports[id] = await freePort();
  const peers = Object.entries(ports)
    .map(([id, port]) => `${id}=127.0.0.1:${port}`)
    .join(',');
  const common = (id: string) => [
    '--zone',
    'az1',
    '--node-id',
    id,
    '--listen',
    `127.0.0.1:${ports[id]}`,
    '--peers',
    peers,
    '--data-dir',
    join(root, id),
    '--cluster-secret',
    SECRET,
    '--tick-ms',
    '50',
  ];
  const procs = new Map<string, ChildProcess | null>();
  const output = new Map<string, string>();
  const urls = Object.fromEntries(Object.entries(ports).map(([id, port]) => [id, `http://127.0.0.1:${port}`]));

  const kill = async (id: string) => {
    const p = procs.get(id);
    if (!p) return;
    procs.set(id, null);
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await exited;
  };
  let local: ZoneServer | null = null;
  const stop = async () => {
    await Promise.all(PROCESS_IDS.map(kill));
    await local?.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const id of PROCESS_IDS) {
      const p = spawn(process.execPath, [CLI, 'server', ...common(id), '--log-level', 'warn'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.set(id, p);
      output.set(id, '');
      const keep = (b: Buffer) => output.set(id, ((output.get(id) ?? '') + b.toString()).slice(-32 * 1024));
      p.stdout?.on('data', keep);
      p.stderr?.on('data', keep);
    }
    local = await startZoneServer(loadServerConfig([...common(LOCAL_ID), '--log-level', 'silent'], {}), plugins);
    const server = local;
    await waitFor(
      async () => {
        if (!server.registry.raft.leaderId) return false;
        const ready = await Promise.all(
          Object.values(urls).map((u) =>
            fetch(`${u}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        );
        return ready.every(Boolean);
      },
      20_000,
      'every replica is ready under one leader',
    );
  } catch (err) {
    await stop();
    throw new Error(
      `${err instanceof Error ? err.message : err}\n${[...output].map(([k, v]) => `--- ${k}\n${v}`).join('\n')}`,
    );
  }
  return { urls, local, procs, output, kill, stop };
}
