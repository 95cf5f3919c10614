import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { removeTempDir, trackTempDir } from '../raft/cleanup.js';
import { freePorts } from '../raft/free-port.js';
import { ManagedProcess } from '../raft/managed-process.js';
import { pollUntil } from '../raft/wait.js';

const cliPath = fileURLToPath(new URL('../../../packages/server/dist/src/cli/main.js', import.meta.url));
const replicaIds = ['n1', 'n2', 'n3'] as const;

/**
 * The load generator is one client address sending far more than a real client would, into a few
 * big services: lift the per-client write rate and the size quotas (the defaults refuse the bench).
 */
const BENCH_LIMITS = {
  CAIRN_WRITE_RATE_MAX: '0',
  CAIRN_INSTANCES_PER_SERVICE_MAX: '10000000',
  CAIRN_INSTANCES_PER_NAMESPACE_MAX: '100000000',
  CAIRN_SERVICES_PER_NAMESPACE_MAX: '10000000',
};

export interface Replica {
  readonly id: string;
  readonly origin: string;
  readonly process: ManagedProcess;
}

interface ClusterView {
  readonly node: string;
  readonly role: string;
  readonly leader: string | null;
}

/** A 3-replica zone of real `cairn server` processes on 127.0.0.1, data in a temp dir. */
export class RegistryZone {
  #replicas: Replica[] = [];
  #rootDir: string | undefined;

  constructor(
    private readonly tickMs: number | undefined,
    private readonly cpuProfDir: string | undefined = undefined,
  ) {}

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  get origins(): string[] {
    return this.#replicas.map((replica) => replica.origin);
  }

  async start(): Promise<void> {
    this.#rootDir = mkdtempSync(join(tmpdir(), 'cairn-bench-registry-'));
    trackTempDir(this.#rootDir);
    const ports = await freePorts(replicaIds.length);
    const peers = replicaIds.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
    // The secret goes through the environment so that it does not show in ps.
    const env = { ...process.env, CAIRN_CLUSTER_SECRET: randomBytes(24).toString('hex'), ...BENCH_LIMITS };
    this.#replicas = replicaIds.map((id, i) => {
      const dataDir = join(this.#rootDir!, id);
      mkdirSync(dataDir);
      const args = [
        ...(this.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${this.cpuProfDir}`]),
        cliPath,
        'server',
        '--zone',
        'az1',
        '--node-id',
        id,
        '--listen',
        `127.0.0.1:${ports[i]}`,
        '--peers',
        peers,
        '--data-dir',
        dataDir,
        '--log-level',
        'warn',
        ...(this.tickMs === undefined ? [] : ['--tick-ms', String(this.tickMs)]),
      ];
      const server = new ManagedProcess({
        name: id,
        command: process.execPath,
        args,
        env,
        logPath: join(this.#rootDir!, `${id}.log`),
      });
      return { id, origin: `http://127.0.0.1:${ports[i]}`, process: server };
    });
    for (const replica of this.#replicas) replica.process.start();
    await this.leader(30_000);
  }

  running(): Replica[] {
    return this.#replicas.filter((replica) => replica.process.pid !== undefined);
  }

  pidOf(replica: Replica): number {
    const pid = replica.process.pid;
    if (pid === undefined) throw new Error(`replica ${replica.id} is not running`);
    return pid;
  }

  /** The leader every running replica agrees on. */
  async leader(timeoutMs = 15_000): Promise<Replica> {
    return pollUntil(
      'a leader all running replicas agree on',
      async () => {
        const running = this.running();
        const views = await Promise.all(running.map((replica) => clusterView(replica.origin)));
        const leaderId = views[0]?.leader;
        if (!leaderId || views.some((view) => view.leader !== leaderId)) return undefined;
        return running.find((replica) => replica.id === leaderId);
      },
      timeoutMs,
      50,
    );
  }

  async followers(): Promise<Replica[]> {
    const leader = await this.leader();
    return this.running().filter((replica) => replica !== leader);
  }

  /** Restarts a killed replica and waits until it is ready and agrees on the leader. */
  async restart(replica: Replica): Promise<void> {
    replica.process.start();
    await pollUntil(
      `${replica.id} ready`,
      async () => {
        const response = await request(`${replica.origin}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
        await response.body.dump();
        return response.statusCode === 200 ? true : undefined;
      },
      30_000,
    );
    await this.leader(30_000);
  }

  logTails(): string {
    return this.#replicas.map((replica) => replica.process.logTail()).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(this.#replicas.map((replica) => replica.process.stop()));
    if (this.#rootDir !== undefined) removeTempDir(this.#rootDir);
  }
}

async function clusterView(origin: string): Promise<ClusterView> {
  const response = await request(`${origin}/v1/cluster`, { headersTimeout: 1000, bodyTimeout: 1000 });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`${origin}/v1/cluster: HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as ClusterView;
}
