import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { BenchSystem, Member, WriteRequest } from './bench-system.js';
import { removeTempDir, trackTempDir } from './cleanup.js';
import { freePorts } from './free-port.js';
import type { KvServerStatus } from './kv-server-status.js';
import { ManagedProcess } from './managed-process.js';
import { pollUntil } from './wait.js';

const replicaIds = ['n1', 'n2', 'n3'] as const;
const kvServerPath = fileURLToPath(new URL('./kv-server.js', import.meta.url));

export interface CairnClusterOptions {
  readonly snapshotEntries: number;
  /** When set, replicas run under node --cpu-prof and write a profile here when stopped (not when killed). */
  readonly cpuProfDir: string | undefined;
}

interface Replica extends Member {
  readonly process: ManagedProcess;
}

/** Three kv-server processes, each one Raft replica serving client HTTP and peer links on one port. */
export class CairnCluster implements BenchSystem {
  readonly name = 'cairn';
  #replicas: Replica[] = [];
  #rootDir: string | undefined;

  constructor(private readonly options: CairnClusterOptions) {}

  get members(): readonly Member[] {
    return this.#replicas;
  }

  async start(): Promise<void> {
    this.#rootDir = mkdtempSync(join(tmpdir(), 'cairn-bench-raft-'));
    trackTempDir(this.#rootDir);
    const ports = await freePorts(replicaIds.length);
    const peers = replicaIds.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
    // The secret goes through the environment so that it does not show in ps.
    const env = { ...process.env, CAIRN_CLUSTER_SECRET: randomBytes(24).toString('hex') };
    const nodeFlags =
      this.options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${this.options.cpuProfDir}`];
    this.#replicas = replicaIds.map((id, i) => {
      const dataDir = join(this.#rootDir!, id);
      mkdirSync(dataDir);
      const args = [
        ...nodeFlags,
        kvServerPath,
        `--id=${id}`,
        `--port=${ports[i]}`,
        `--peers=${peers}`,
        `--data-dir=${dataDir}`,
        `--snapshot-entries=${this.options.snapshotEntries}`,
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
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await pollUntil('cairn replicas up with one leader', () => this.#agreedLeader(this.#replicas), timeoutMs);
  }

  async findLeader(): Promise<Member> {
    const running = this.#replicas.filter((replica) => replica.process.pid !== undefined);
    return pollUntil('a cairn leader', () => this.#agreedLeader(running), 15_000);
  }

  writeRequest(key: string, value: Uint8Array): WriteRequest {
    return {
      method: 'PUT',
      path: `/kv/${encodeURIComponent(key)}`,
      headers: { 'content-type': 'application/json' },
      body: value,
    };
  }

  serverPids(): number[] {
    return this.#replicas.flatMap((replica) => (replica.process.pid === undefined ? [] : [replica.process.pid]));
  }

  async kill(memberId: string): Promise<void> {
    await this.#replica(memberId).process.kill();
  }

  async restart(memberId: string, timeoutMs: number): Promise<void> {
    const replica = this.#replica(memberId);
    replica.process.start();
    const leader = await this.findLeader();
    const target = (await replicaStatus(leader.origin)).commit;
    await pollUntil(
      `${memberId} to apply through index ${target}`,
      async () => ((await replicaStatus(replica.origin)).applied >= target ? true : undefined),
      timeoutMs,
    );
  }

  logTails(): string {
    return this.#replicas.map((replica) => replica.process.logTail()).join('\n');
  }

  async close(): Promise<void> {
    // SIGTERM first: a replica under --cpu-prof writes its profile only on a clean exit.
    await Promise.all(this.#replicas.map((replica) => replica.process.stop()));
    if (this.#rootDir !== undefined) removeTempDir(this.#rootDir);
  }

  #replica(memberId: string): Replica {
    const replica = this.#replicas.find((candidate) => candidate.id === memberId);
    if (replica === undefined) throw new Error(`no cairn replica ${memberId}`);
    return replica;
  }

  /** The replica every one of `replicas` names as leader, if they agree and it says it leads. */
  async #agreedLeader(replicas: readonly Replica[]): Promise<Member | undefined> {
    const statuses = await Promise.all(replicas.map((replica) => replicaStatus(replica.origin)));
    const leaderId = statuses[0]?.leader;
    if (leaderId === undefined || statuses.some((status) => status.leader !== leaderId)) return undefined;
    const leaderIndex = statuses.findIndex((status) => status.id === leaderId && status.role === 'leader');
    return leaderIndex === -1 ? undefined : replicas[leaderIndex];
  }
}

async function replicaStatus(origin: string): Promise<KvServerStatus> {
  const response = await request(`${origin}/status`, { headersTimeout: 2000, bodyTimeout: 2000 });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`cairn status at ${origin}: HTTP ${response.statusCode}`);
  }
  return (await response.body.json()) as KvServerStatus;
}
