import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { BenchSystem, Member, WriteRequest } from './bench-system.js';
import { removeTempDir, trackTempDir } from './cleanup.js';
import { freePorts } from './free-port.js';
import { ManagedProcess } from './managed-process.js';
import { pollUntil } from './wait.js';

const memberCount = 3;

/** Matches the cairn replicas' Raft timing (100 ms tick, 10-tick election timeout) so failover compares like with like. */
const heartbeatIntervalMs = 100;
const electionTimeoutMs = 1000;

export interface EtcdOptions {
  /** Entries between Raft snapshots; set equal to cairn's snapshotEntries. */
  readonly snapshotEntries: number;
}

interface EtcdMember extends Member {
  readonly process: ManagedProcess;
}

interface EtcdStatus {
  readonly memberId: string;
  readonly leaderId: string;
  readonly raftIndex: number;
}

/**
 * A three-member etcd 3.4 cluster on 127.0.0.1, data in a temp dir. Writes use the v3 HTTP/JSON gateway
 * that etcd serves on its client port (`POST /v3/kv/put`, base64 key and value).
 */
export class EtcdCluster implements BenchSystem {
  readonly name = 'etcd';
  #members: EtcdMember[] = [];
  #rootDir: string | undefined;

  constructor(private readonly options: EtcdOptions) {}

  get members(): readonly Member[] {
    return this.#members;
  }

  async start(): Promise<void> {
    const etcdPath = ensureEtcdInstalled();
    this.#rootDir = mkdtempSync(join(tmpdir(), 'cairn-bench-etcd-'));
    trackTempDir(this.#rootDir);
    const ports = await freePorts(memberCount * 2);
    const names = Array.from({ length: memberCount }, (_, i) => `etcd${i + 1}`);
    const peerUrl = (i: number) => `http://127.0.0.1:${ports[memberCount + i]}`;
    const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
    const token = `cairn-bench-${process.pid}-${Date.now()}`;
    this.#members = names.map((name, i) => {
      const clientUrl = `http://127.0.0.1:${ports[i]}`;
      const args = [
        `--name=${name}`,
        `--data-dir=${join(this.#rootDir!, name)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        `--heartbeat-interval=${heartbeatIntervalMs}`,
        `--election-timeout=${electionTimeoutMs}`,
        `--snapshot-count=${this.options.snapshotEntries}`,
        '--logger=zap',
        '--log-level=warn',
      ];
      const server = new ManagedProcess({
        name,
        command: etcdPath,
        args,
        env: etcdEnv(),
        logPath: join(this.#rootDir!, `${name}.log`),
      });
      return { id: name, origin: clientUrl, process: server };
    });
    for (const member of this.#members) member.process.start();
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await pollUntil('etcd members healthy with one leader', () => this.#agreedLeader(this.#members), timeoutMs);
  }

  async findLeader(): Promise<Member> {
    const running = this.#members.filter((member) => member.process.pid !== undefined);
    return pollUntil('an etcd leader', () => this.#agreedLeader(running), 15_000);
  }

  writeRequest(key: string, value: Uint8Array): WriteRequest {
    const body = `{"key":"${Buffer.from(key).toString('base64')}","value":"${Buffer.from(value).toString('base64')}"}`;
    return { method: 'POST', path: '/v3/kv/put', headers: { 'content-type': 'application/json' }, body };
  }

  serverPids(): number[] {
    return this.#members.flatMap((member) => (member.process.pid === undefined ? [] : [member.process.pid]));
  }

  async kill(memberId: string): Promise<void> {
    await this.#member(memberId).process.kill();
  }

  async restart(memberId: string, timeoutMs: number): Promise<void> {
    const member = this.#member(memberId);
    // On an existing data dir etcd ignores the --initial-cluster flags and rejoins as the same member.
    member.process.start();
    const leader = await this.findLeader();
    const target = (await etcdStatus(leader.origin)).raftIndex;
    await pollUntil(
      `${memberId} to catch up to raft index ${target}`,
      async () => ((await etcdStatus(member.origin)).raftIndex >= target ? true : undefined),
      timeoutMs,
    );
  }

  logTails(): string {
    return this.#members.map((member) => member.process.logTail()).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(this.#members.map((member) => member.process.stop()));
    if (this.#rootDir !== undefined) removeTempDir(this.#rootDir);
  }

  #member(memberId: string): EtcdMember {
    const member = this.#members.find((candidate) => candidate.id === memberId);
    if (member === undefined) throw new Error(`no etcd member ${memberId}`);
    return member;
  }

  /** The member every one of `members` names as leader, if they agree and it is among them. */
  async #agreedLeader(members: readonly EtcdMember[]): Promise<Member | undefined> {
    const statuses = await Promise.all(members.map((member) => etcdStatus(member.origin)));
    const leaderIds = new Set(statuses.map((status) => status.leaderId));
    if (leaderIds.size !== 1) return undefined;
    const leaderStatus = statuses.find((status) => status.memberId === statuses[0]!.leaderId);
    return leaderStatus === undefined ? undefined : members[statuses.indexOf(leaderStatus)];
  }
}

async function etcdStatus(origin: string): Promise<EtcdStatus> {
  const response = await request(`${origin}/v3/maintenance/status`, {
    method: 'POST',
    body: '{}',
    headersTimeout: 2000,
    bodyTimeout: 2000,
  });
  const body = (await response.body.json()) as {
    header?: { member_id?: string };
    leader?: string;
    raftIndex?: string;
  };
  if (response.statusCode !== 200 || body.header?.member_id === undefined) {
    throw new Error(`etcd status at ${origin}: HTTP ${response.statusCode}`);
  }
  // The gateway renders uint64 fields as decimal strings; ids are compared as strings.
  return { memberId: body.header.member_id, leaderId: body.leader ?? '0', raftIndex: Number(body.raftIndex ?? 0) };
}

function etcdEnv(): NodeJS.ProcessEnv {
  // ETCD_* variables would override our flags; etcd refuses to start on arm64 without this opt-in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ETCD_')));
  return process.arch === 'arm64' ? { ...env, ETCD_UNSUPPORTED_ARCH: 'arm64' } : env;
}

/** Finds etcd on PATH, installing Debian's etcd-server package (and stopping its service) if it is missing. */
function ensureEtcdInstalled(): string {
  const found = whichEtcd();
  if (found !== undefined) return found;
  process.stderr.write('bench: etcd not on PATH, installing Debian package etcd-server\n');
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) =>
    execFileSync('apt-get', args, { env: aptEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    apt(['install', '-y', 'etcd-server']);
  } catch {
    apt(['update']);
    apt(['install', '-y', 'etcd-server']);
  }
  // The package enables a system service on the default ports; it must not compete for CPU.
  for (const stop of [
    ['systemctl', 'stop', 'etcd'],
    ['service', 'etcd', 'stop'],
  ]) {
    try {
      execFileSync(stop[0]!, stop.slice(1), { stdio: 'ignore' });
    } catch {
      // No init system in a container: nothing was started.
    }
  }
  const installed = whichEtcd();
  if (installed === undefined) throw new Error('etcd-server installed but etcd is not on PATH');
  return installed;
}

function whichEtcd(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
