// The zones of the federation benchmark: real `cairn server` processes on 127.0.0.1, data in temp dirs,
// their logs in files. Limits meant for untrusted clients are lifted (through env vars, so a replica
// that does not know one still starts): the benchmark is one client address loading 100,000s of
// instances into one namespace.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePorts } from '../raft/free-port.js';
import { ManagedProcess } from '../raft/managed-process.js';
import { pollUntil } from '../raft/wait.js';

export const CLI_PATH = fileURLToPath(new URL('../../../packages/server/dist/src/cli/main.js', import.meta.url));

const LIMITS_ENV = {
  CAIRN_WRITE_RATE_MAX: '0',
  CAIRN_INSTANCES_PER_NAMESPACE_MAX: '100000000',
  CAIRN_SERVICES_PER_NAMESPACE_MAX: '10000000',
};

export interface BenchReplica {
  readonly id: string;
  readonly origin: string;
  readonly process: ManagedProcess;
}

export class BenchZone {
  constructor(
    readonly name: string,
    /** 0 for az1, 1 for az2... */
    readonly index: number,
    readonly replicas: readonly BenchReplica[],
  ) {}

  get origins(): string[] {
    return this.replicas.map((r) => r.origin);
  }

  pids(): number[] {
    return this.replicas.flatMap((r) => (r.process.pid === undefined ? [] : [r.process.pid]));
  }

  logTails(): string {
    return this.replicas.map((r) => r.process.logTail(10)).join('\n');
  }
}

/** Starts `count` zones (az1, az2...) of `replicas` replicas each and waits until each has a leader. */
export async function startZones(rootDir: string, count: number, replicas: number): Promise<BenchZone[]> {
  const env = { ...process.env, ...LIMITS_ENV, CAIRN_CLUSTER_SECRET: randomBytes(24).toString('hex') };
  const zones: BenchZone[] = [];
  for (let z = 1; z <= count; z++) {
    const name = `az${z}`;
    const ports = await freePorts(replicas);
    const ids = ports.map((_, i) => `n${i + 1}`);
    const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
    zones.push(
      new BenchZone(
        name,
        z - 1,
        ids.map((id, i) => {
          const dataDir = join(rootDir, name, id);
          mkdirSync(dataDir, { recursive: true });
          const args = [
            CLI_PATH,
            'server',
            '--zone',
            name,
            '--node-id',
            id,
            '--listen',
            `127.0.0.1:${ports[i]}`,
            '--data-dir',
            dataDir,
            '--log-level',
            'warn',
            ...(replicas > 1 ? ['--peers', peers] : []),
          ];
          const proc = new ManagedProcess({
            name: `${name}/${id}`,
            command: process.execPath,
            args,
            env,
            logPath: join(rootDir, `${name}-${id}.log`),
          });
          return { id, origin: `http://127.0.0.1:${ports[i]}`, process: proc };
        }),
      ),
    );
  }
  for (const zone of zones) for (const r of zone.replicas) r.process.start();
  await Promise.all(zones.map((zone) => waitForLeader(zone)));
  return zones;
}

async function waitForLeader(zone: BenchZone): Promise<void> {
  await pollUntil(
    `a leader in ${zone.name}`,
    async () => {
      const views = await Promise.all(
        zone.replicas.map(async (r) => {
          const res = await request(`${r.origin}/v1/cluster`, { headersTimeout: 1000, bodyTimeout: 1000 });
          return res.statusCode === 200 ? ((await res.body.json()) as { leader: string | null }) : null;
        }),
      );
      const leader = views[0]?.leader;
      return leader && views.every((v) => v?.leader === leader) ? true : undefined;
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${zone.logTails()}`);
  });
}
