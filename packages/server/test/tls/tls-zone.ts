// A zone of real `cairn server` processes that speak TLS, for the TLS tests: like
// helpers/zone-cluster.ts, but every replica has its own certificate files and is reached over
// https with the test CA (the shared helper's plain fetch cannot do either).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { CLI, freePort, sleep } from '../helpers/zone-cluster.js';

export const CLUSTER_SECRET = 'tls-test-cluster-secret-0123456789';

export interface TlsReplicaSpec {
  readonly id: string;
  readonly cert: string;
  readonly key: string;
  /** The CA this replica trusts (--tls-ca). */
  readonly ca: string;
}

export interface TlsReplica extends TlsReplicaSpec {
  readonly port: number;
  readonly address: string;
  readonly url: string;
  readonly dataDir: string;
  proc: ChildProcess | null;
  output: string;
}

export interface TlsZoneOptions {
  readonly replicas: readonly TlsReplicaSpec[];
  /** The CA the test's own client trusts. */
  readonly clientCa: Buffer;
  readonly peerMtls?: boolean;
  readonly logLevel?: string;
  /** Replicas not expected to become ready (they are started, not awaited). */
  readonly notReady?: readonly string[];
}

export interface TlsZone {
  readonly replicas: readonly TlsReplica[];
  /** Trusts the test CA; presents no client certificate. */
  readonly agent: Agent;
  replica(id: string): TlsReplica;
  /** A JSON call over https; resolves with the status and the parsed body. */
  call(
    id: string,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }>;
  /** Waits until the replicas `among` (default all running) agree on a leader among them. */
  leader(among?: readonly string[], timeoutMs?: number): Promise<string>;
  waitReady(id: string, timeoutMs?: number): Promise<void>;
  /** Waits until a replica's output contains `text` (its log lines). */
  waitOutput(id: string, text: string, timeoutMs?: number): Promise<void>;
  signal(id: string, signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startTlsZone(opts: TlsZoneOptions): Promise<TlsZone> {
  const root = mkdtempSync(join(tmpdir(), 'cairn-tls-zone-'));
  const replicas: TlsReplica[] = [];
  for (const spec of opts.replicas) {
    const port = await freePort();
    replicas.push({
      ...spec,
      port,
      address: `127.0.0.1:${port}`,
      url: `https://127.0.0.1:${port}`,
      dataDir: join(root, spec.id),
      proc: null,
      output: '',
    });
  }
  const peers = replicas.map((r) => `${r.id}=${r.address}`).join(',');
  const agent = new Agent({ connect: { ca: opts.clientCa } });

  const launch = (r: TlsReplica): void => {
    const args = [
      CLI,
      'server',
      ...['--zone', 'az1', '--node-id', r.id, '--listen', r.address, '--data-dir', r.dataDir],
      ...['--cluster-secret', CLUSTER_SECRET, '--tick-ms', '50', '--log-level', opts.logLevel ?? 'warn'],
      ...['--peers', peers, '--tls-cert', r.cert, '--tls-key', r.key, '--tls-ca', r.ca],
      ...(opts.peerMtls ? ['--peer-mtls'] : []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    r.proc = proc;
    const keep = (b: Buffer) => {
      r.output = (r.output + b.toString()).slice(-256 * 1024);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('exit', () => {
      if (r.proc === proc) r.proc = null;
    });
  };

  const zone: TlsZone = {
    replicas,
    agent,
    replica(id) {
      const r = replicas.find((x) => x.id === id);
      if (!r) throw new Error(`no replica ${id}`);
      return r;
    },
    async call(id, method, path, body) {
      const res = await request(`${zone.replica(id).url}${path}`, {
        method,
        dispatcher: agent,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text === '' ? null : (JSON.parse(text) as unknown) };
    },
    async leader(among, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const live = replicas.filter((r) => r.proc && (among === undefined || among.includes(r.id)));
        const views = await Promise.all(
          live.map((r) =>
            zone.call(r.id, 'GET', '/v1/cluster').then(
              (a) => (a.status === 200 ? (a.body as { leader: string }).leader : null),
              () => null,
            ),
          ),
        );
        const agreed = new Set(views);
        const [only] = [...agreed];
        if (agreed.size === 1 && only && live.some((r) => r.id === only)) return only;
        await sleep(50);
      }
      throw new Error(`no agreed leader within ${timeoutMs} ms\n${dump(replicas)}`);
    },
    async waitReady(id, timeoutMs = 30_000) {
      const r = zone.replica(id);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const ready = await zone.call(id, 'GET', '/readyz').then(
          (a) => a.status === 200,
          () => false,
        );
        if (ready) return;
        if (!r.proc) throw new Error(`replica ${id} exited\n${r.output}`);
        await sleep(50);
      }
      throw new Error(`replica ${id} not ready within ${timeoutMs} ms\n${r.output}`);
    },
    async waitOutput(id, text, timeoutMs = 10_000) {
      const r = zone.replica(id);
      const deadline = Date.now() + timeoutMs;
      while (!r.output.includes(text)) {
        if (Date.now() > deadline) throw new Error(`${id} never logged '${text}'\n${r.output.slice(-4000)}`);
        await sleep(25);
      }
    },
    signal(id, signal) {
      zone.replica(id).proc?.kill(signal);
    },
    async stop() {
      await Promise.all(
        replicas.map(async (r) => {
          const proc = r.proc;
          if (!proc) return;
          const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
          proc.kill('SIGKILL');
          await exited;
        }),
      );
      await agent.close();
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    for (const r of replicas) launch(r);
    const expected = replicas.filter((r) => !opts.notReady?.includes(r.id)).map((r) => r.id);
    await Promise.all(expected.map((id) => zone.waitReady(id)));
    await zone.leader(expected);
  } catch (err) {
    await zone.stop();
    throw err;
  }
  return zone;
}

function dump(replicas: readonly TlsReplica[]): string {
  return replicas.map((r) => `--- ${r.id} (${r.proc ? 'running' : 'down'})\n${r.output.slice(-4000)}`).join('\n');
}
