// The real processes the README's commands run against: the zone its `cairn server` commands start,
// a single-replica fixture for each other zone the federation command names, the demo services
// `npm start` would have registered, and the federation its `cairn federation` command starts.
import { join } from 'node:path';
import { cairnArgs } from './command-kinds.js';
import { getJson, type Proc, start, until } from './processes.js';
import type { ShellCommand } from './readme-shell.js';
import { flagValue, type Rewriter } from './rewrite.js';

export interface Replica {
  readonly zone: string;
  readonly id: string;
  readonly url: string;
  readonly dataDir: string;
  /** `cairn` arguments as the test runs them (rewritten). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  proc: Proc | null;
}

interface ClusterView {
  zone: string;
  node: string;
  leader: string;
  members: { id: string; address: string; voter: boolean; leader: boolean }[];
}

/** What `cairn dev` registers through the SDK, so that the quick start's dig finds `orders`. */
export const DEMO_SERVICES = ['orders', 'payments', 'inventory'] as const;

export class LiveCluster {
  readonly replicas: Replica[] = [];
  readonly procs: Proc[] = [];
  federationUrl = '';
  /** Zone -> the replica URLs the federation command names. */
  readonly federationZones = new Map<string, string[]>();

  constructor(
    readonly cli: string,
    readonly rw: Rewriter,
    readonly cwd: string,
  ) {}

  /** A README `cairn server` command, registered (not started). */
  addServer(c: ShellCommand): Replica {
    const args = cairnArgs(this.rw.argv(c.argv))!;
    const need = (flag: string): string => {
      const v = flagValue(args, flag);
      if (v === undefined) throw new Error(`README line ${c.line}: the test needs ${flag} to know the replica`);
      return v;
    };
    const r: Replica = {
      zone: need('--zone'),
      id: need('--node-id'),
      url: `http://${need('--listen')}`,
      dataDir: need('--data-dir'),
      args,
      env: this.rw.env(c.env),
      proc: null,
    };
    this.replicas.push(r);
    return r;
  }

  /** A one-replica zone standing in for a zone the README's commands do not start. */
  addFixtureZone(zone: string, url: string): Replica {
    const listen = new URL(url).host;
    const r: Replica = {
      zone,
      id: 'n1',
      url: `http://${listen}`,
      dataDir: join(this.rw.dataRoot, `${zone}-n1`),
      args: ['server', '--zone', zone, '--node-id', 'n1', '--listen', listen, '--log-level', 'warn'],
      env: {},
      proc: null,
    };
    this.replicas.push(r);
    return r;
  }

  /** Starts `r` with its command line, plus `extra` flags for this start only. */
  launch(r: Replica, extra: readonly string[] = []): void {
    const args = [...r.args, ...(r.args.includes('--data-dir') ? [] : ['--data-dir', r.dataDir]), ...extra];
    r.proc = start(`${r.zone}/${r.id}`, process.execPath, [this.cli, ...args], { env: { ...r.env }, cwd: this.cwd });
    this.procs.push(r.proc);
  }

  /** Starts a README `cairn federation` command and waits until it has seen every zone. */
  async startFederation(c: ShellCommand): Promise<void> {
    const args = cairnArgs(this.rw.argv(c.argv))!;
    args.forEach((a, i) => {
      if (a !== '--zone') return;
      const [zone, urls] = (args[i + 1] ?? '').split('=');
      this.federationZones.set(zone!, (urls ?? '').split(','));
    });
    this.federationUrl = `http://${flagValue(args, '--listen')}`;
    this.procs.push(
      start('federation', process.execPath, [this.cli, ...args], { env: this.rw.env(c.env), cwd: this.cwd }),
    );
  }

  async waitFederation(): Promise<void> {
    const zones = [...this.federationZones.keys()];
    await until(
      'the federation to see every zone live',
      async () => {
        const z = await getJson<{ zones: { zone: string; state: string }[] }>(`${this.federationUrl}/v1/zones`);
        return zones.every((name) => z.zones.some((s) => s.zone === name && s.state === 'live')) ? true : undefined;
      },
      60_000,
    );
  }

  replica(zone: string, id: string): Replica {
    const r = this.replicas.find((x) => x.zone === zone && x.id === id);
    if (!r) throw new Error(`no replica ${zone}/${id}`);
    return r;
  }

  /** The replica listening at `origin` (http://host:port), if the test started one there. */
  at(origin: string): Replica | undefined {
    return this.replicas.find((r) => r.url === origin);
  }

  async waitReady(r: Replica, timeoutMs = 60_000): Promise<void> {
    await until(
      `${r.zone}/${r.id} to be ready`,
      async () => {
        if (!r.proc?.alive) throw new Error(`${r.zone}/${r.id} exited:\n${r.proc?.output.slice(-4000)}`);
        const res = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        return res.ok ? true : undefined;
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${r.proc?.output.slice(-4000) ?? ''}`);
    });
  }

  cluster(r: Replica): Promise<ClusterView> {
    return getJson<ClusterView>(`${r.url}/v1/cluster`);
  }

  /** The leader every running replica of `zone` agrees on. */
  async leader(zone: string, timeoutMs = 30_000): Promise<Replica> {
    // A replica started with --join knows no leader until it is added: it has no say here.
    const live = () => this.replicas.filter((r) => r.zone === zone && r.proc?.alive && !r.args.includes('--join'));
    const id = await until(
      `one leader in ${zone}`,
      async () => {
        const views = await Promise.all(live().map((r) => this.cluster(r)));
        const leaders = new Set(views.map((v) => v.leader));
        const [only] = [...leaders];
        return leaders.size === 1 && only && live().some((r) => r.id === only) ? only : undefined;
      },
      timeoutMs,
    );
    return this.replica(zone, id);
  }

  /** Hands leadership of `r`'s zone to `r` (membership changes go to the leader). */
  async makeLeader(r: Replica): Promise<void> {
    const leader = await this.leader(r.zone);
    if (leader === r) return;
    await getJson(`${leader.url}/v1/cluster/leader`, { method: 'POST', body: { to: r.id } });
    await until(`${r.id} to lead ${r.zone}`, async () => ((await this.leader(r.zone)) === r ? true : undefined));
  }

  /** Registers the demo services (persistent, so they need no heartbeats) in every zone. */
  async registerDemo(): Promise<void> {
    const zones = [...new Set(this.replicas.map((r) => r.zone))];
    for (const [z, zone] of zones.entries()) {
      const leader = await this.leader(zone);
      for (const [s, service] of DEMO_SERVICES.entries()) {
        for (const k of [1, 2]) {
          await getJson(`${leader.url}/v1/instances`, {
            method: 'POST',
            body: { service, ip: '127.0.0.1', port: 3100 + z * 100 + s * 10 + k, ephemeral: false },
          });
        }
      }
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop('SIGKILL')));
  }
}
