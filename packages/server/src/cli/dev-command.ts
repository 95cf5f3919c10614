import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `cairn dev`: a local multi-zone cluster in one command. Every zone is a replica set of real
 * `cairn server` processes on 127.0.0.1 with level data under one directory; starting again reuses
 * the data, `--reset` starts fresh, Ctrl-C stops everything cleanly.
 */

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));

const FLAGS = {
  zones: { type: 'string', help: 'number of zones, az1..azN (default 2)' },
  replicas: { type: 'string', help: 'replicas per zone (default 3)' },
  'base-port': { type: 'string', help: 'first zone listens from here; zone i adds 1000 x (i-1) (default 8848)' },
  'data-dir': { type: 'string', help: 'where every replica keeps its data and log (default ./data/dev)' },
  reset: { type: 'boolean', help: 'delete the data directory first' },
  'no-demo': { type: 'boolean', help: 'do not register the demo services' },
  help: { type: 'boolean', help: 'print this help' },
} as const;

interface Replica {
  readonly zone: string;
  readonly id: string;
  readonly port: number;
  readonly url: string;
  proc: ChildProcess | null;
}

export function devHelp(): string {
  const lines = Object.entries(FLAGS).map(
    ([f, v]) => `  --${f}${v.type === 'string' ? ' <value>' : ''}`.padEnd(26) + v.help,
  );
  return `Usage: cairn dev [options]\n\nStarts a local multi-zone cairn cluster on 127.0.0.1 and keeps it running until Ctrl-C.\n\nOptions:\n${lines.join('\n')}\n`;
}

function positiveInt(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}`);
  return n;
}

export async function devCommand(argv: readonly string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(FLAGS).map(([k, v]) => [k, { type: v.type }])),
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`cairn dev: ${(err as Error).message}\n\n${devHelp()}`);
    return 2;
  }
  if (values['help']) {
    process.stdout.write(devHelp());
    return 0;
  }
  let zones: number;
  let replicasPerZone: number;
  let basePort: number;
  try {
    zones = positiveInt('zones', values['zones'] as string | undefined, 2, 9);
    replicasPerZone = positiveInt('replicas', values['replicas'] as string | undefined, 3, 7);
    basePort = positiveInt('base-port', values['base-port'] as string | undefined, 8848, 65535 - 9000);
  } catch (err) {
    process.stderr.write(`cairn dev: ${(err as Error).message}\n`);
    return 2;
  }
  const dataDir = resolve((values['data-dir'] as string | undefined) ?? './data/dev');
  if (values['reset']) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const secret = clusterSecret(dataDir);

  const replicas: Replica[] = [];
  for (let z = 1; z <= zones; z++) {
    for (let r = 1; r <= replicasPerZone; r++) {
      const port = basePort + (z - 1) * 1000 + (r - 1);
      replicas.push({ zone: `az${z}`, id: `n${r}`, port, url: `http://127.0.0.1:${port}`, proc: null });
    }
  }

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(
      replicas.map(
        (r) =>
          new Promise<void>((done) => {
            const p = r.proc;
            if (!p || p.exitCode !== null) return done();
            p.once('exit', () => done());
            p.kill('SIGTERM');
            setTimeout(() => p.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  };
  const interrupted = new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });

  process.stdout.write(`cairn dev: ${zones} zones x ${replicasPerZone} replicas, data in ${dataDir}\n`);
  for (const r of replicas) launch(r, replicas, dataDir, secret, () => stopping);
  try {
    for (let z = 1; z <= zones; z++) {
      const zone = `az${z}`;
      process.stdout.write(`  starting ${zone} ...`);
      const leader = await waitForZone(
        replicas.filter((r) => r.zone === zone),
        60_000,
      );
      process.stdout.write(` ready (leader ${leader})\n`);
    }
    if (!values['no-demo']) {
      process.stdout.write('  registering demo services ...');
      await registerDemo(replicas, zones);
      process.stdout.write(' done\n');
    }
  } catch (err) {
    process.stdout.write('\n');
    process.stderr.write(`cairn dev: ${(err as Error).message}\nReplica logs are in ${dataDir}/<zone>-<node>.log\n`);
    await stopAll();
    return 1;
  }
  process.stdout.write(summary(replicas, zones));
  await interrupted;
  process.stdout.write('\ncairn dev: stopping ...\n');
  await stopAll();
  process.stdout.write('cairn dev: stopped\n');
  return 0;
}

function clusterSecret(dataDir: string): string {
  const file = join(dataDir, 'cluster-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(24).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function launch(r: Replica, all: readonly Replica[], dataDir: string, secret: string, stopping: () => boolean): void {
  const peers = all
    .filter((p) => p.zone === r.zone)
    .map((p) => `${p.id}=127.0.0.1:${p.port}`)
    .join(',');
  const log = openSync(join(dataDir, `${r.zone}-${r.id}.log`), 'a');
  const args = [CLI, 'server', '--zone', r.zone, '--node-id', r.id, '--listen', `127.0.0.1:${r.port}`];
  args.push('--data-dir', join(dataDir, `${r.zone}-${r.id}`), '--log-level', 'warn');
  if (peers.includes(',')) args.push('--peers', peers);
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, CAIRN_CLUSTER_SECRET: secret },
  });
  r.proc = proc;
  proc.on('exit', (code, signal) => {
    r.proc = null;
    if (!stopping()) process.stderr.write(`cairn dev: ${r.zone}/${r.id} exited (${signal ?? code}); see its log\n`);
  });
}

async function waitForZone(replicas: readonly Replica[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(
      replicas.map(async (r) => {
        try {
          const ready = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(1000) });
          if (!ready.ok) return null;
          return ((await (await fetch(`${r.url}/v1/cluster`)).json()) as { leader: string }).leader;
        } catch {
          return null;
        }
      }),
    );
    const first = views[0];
    if (first && views.every((v) => v === first)) return first;
    if (replicas.every((r) => r.proc === null)) throw new Error(`every replica of ${replicas[0]?.zone} exited`);
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`zone ${replicas[0]?.zone} did not become ready within ${timeoutMs / 1000} s`);
}

/** A few persistent demo instances per zone, so a fresh cluster has something to look at. */
async function registerDemo(replicas: readonly Replica[], zones: number): Promise<void> {
  const demo = [
    { service: 'orders', count: 3, port: 8080 },
    { service: 'payments', count: 2, port: 9090 },
  ];
  for (let z = 1; z <= zones; z++) {
    const url = replicas.find((r) => r.zone === `az${z}`)!.url;
    for (const d of demo) {
      for (let i = 1; i <= d.count; i++) {
        const res = await fetch(`${url}/v1/instances`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            service: d.service,
            ip: `10.${z}.0.${i}`,
            port: d.port,
            ephemeral: false,
            metadata: { demo: 'true', version: i === 1 ? 'v2' : 'v1' },
          }),
        });
        if (!res.ok) throw new Error(`registering demo ${d.service} in az${z} failed: ${await res.text()}`);
      }
    }
  }
}

function summary(replicas: readonly Replica[], zones: number): string {
  const rows = [];
  for (let z = 1; z <= zones; z++) {
    const zr = replicas.filter((r) => r.zone === `az${z}`);
    rows.push(`  az${z}      ${zr.map((r) => `${r.id} ${r.url}`).join('   ')}`);
  }
  const first = replicas[0]!;
  return [
    '',
    'cairn is running:',
    '  zone     replicas',
    ...rows,
    '',
    `  API docs      ${first.url}/docs`,
    `  metrics       ${first.url}/metrics`,
    '  (the federation, its DNS and the admin UI are not built yet)',
    '',
    'Try:',
    `  curl -s -XPOST ${first.url}/v1/instances -H 'content-type: application/json' -d '{"service":"hello","ip":"127.0.0.1","port":3000,"ephemeral":false}'`,
    `  curl -s ${first.url}/v1/services/public/DEFAULT_GROUP/hello`,
    '',
    'Ctrl-C stops everything; starting again reuses the data (--reset starts fresh).',
    '',
  ].join('\n');
}
