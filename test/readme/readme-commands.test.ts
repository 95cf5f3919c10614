// Issue 6: "Every command in [the README] is exercised by a test or by CI." This test reads every
// command out of README.md (its ```sh blocks, and the `npm ...`/`npx ...` spans of the prose), refuses
// any it does not know how to exercise (command-kinds.ts is the table), and exercises the rest: CI and
// package scripts are checked, the zone, federation, curl, ctl, dig and HAProxy commands run for real
// on free ports in README order, and the backup and restore procedures the README describes are
// carried out on a real replica.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_SCRIPTS, cairnArgs, KINDS, kindOf } from './command-kinds.js';
import { LiveCluster, type Replica } from './live-cluster.js';
import {
  exerciseCtl,
  exerciseCurl,
  exerciseDig,
  exerciseHaproxyCheck,
  exerciseHaproxyRun,
  type Registered,
} from './live-exercises.js';
import { getJson, run, udpFree, until } from './processes.js';
import { type ProseSpan, readmeCommands, type ShellCommand } from './readme-shell.js';
import { README_PORTS, Rewriter } from './rewrite.js';

type ServerConfigModule = typeof import('../../packages/server/src/config/server-config.js');
type FederationConfigModule = typeof import('../../packages/server/src/federation/config/federation-config.js');
type DevOptionsModule = typeof import('../../packages/server/src/cli/dev/dev-options.js');
type ZoneClusterModule = typeof import('../../packages/server/test/helpers/zone-cluster.js');

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const CLI = join(ROOT, 'packages/server/dist/src/cli/main.js');
const README = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

/** Compiled server modules: test/dist/readme/ cannot import ../../packages/... statically. */
function serverModule<T>(relative: string): Promise<T> {
  return import(pathToFileURL(join(ROOT, 'packages/server/dist', relative)).href) as Promise<T>;
}

const has = (tool: 'curl' | 'dig' | 'haproxy' | 'npm' | 'npx'): boolean =>
  spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

const ofKind = (...kinds: string[]): ShellCommand[] => README.commands.filter((c) => kinds.includes(kindOf(c) ?? ''));

const packageJson = (dir: string): { name: string; scripts?: Record<string, string> } =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());

/** The command a prose flag or env var belongs to, by the section it is written in. */
const SECTION_COMMAND: Readonly<Record<string, 'dev' | 'server' | 'federation'>> = {
  'Quick start': 'dev',
  'Putting a gateway in front': 'federation',
  'Operating it': 'server',
};

describe('README commands', () => {
  it('are all of a kind this test exercises; prose flags belong to a known command', (t) => {
    assert.ok(README.commands.length > 0, 'no commands found in README.md');
    const problems: string[] = [];
    for (const c of README.commands) {
      const kind = kindOf(c);
      if (!kind) {
        problems.push(`README line ${c.line}: no exercise for \`${c.text}\`: add one (test/readme/command-kinds.ts)`);
        continue;
      }
      const long = kind === 'cairn server' || kind === 'cairn federation' || kind === 'haproxy';
      if (long && c.followed && !c.background) {
        problems.push(
          `README line ${c.line}: \`${c.text}\` runs until stopped and blocks the commands after it: add &`,
        );
      }
    }
    for (const span of [...README.flagSpans, ...README.envSpans]) {
      if (SECTION_COMMAND[span.section] === undefined) {
        problems.push(
          `README line ${span.line}: \`${span.text}\`: whose flag? (add "${span.section}" to SECTION_COMMAND)`,
        );
      }
    }
    assert.deepEqual(problems, []);
    for (const k of KINDS) {
      const n = README.commands.filter((c) => kindOf(c) === k.kind).length;
      t.diagnostic(`${k.kind} (${n}): ${k.how}`);
    }
  });

  it('npm ci and npm test are what CI runs', () => {
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    const scripts = packageJson(ROOT).scripts ?? {};
    for (const c of ofKind('npm ci', 'npm test')) {
      assert.match(ci, new RegExp(`^${c.argv.join(' ')}\\b`, 'm'), `.ci/run does not run \`${c.text}\``);
    }
    assert.ok(scripts['test'], 'no test script');
  });

  it('npm start runs cairn dev, which cli-dev.test.ts starts for real, and takes the flags the README names', async () => {
    const start = packageJson(ROOT).scripts?.['start'] ?? '';
    assert.match(start, /^node packages\/server\/dist\/src\/cli\/main\.js dev$/);
    const devTest = readFileSync(join(ROOT, 'packages/server/test/cli-dev.test.ts'), 'utf8');
    assert.match(devTest, /spawn\(process\.execPath, \[CLI, 'dev'/, 'cli-dev.test.ts no longer starts `cairn dev`');
    const { parseDevOptions, DEV_FLAGS } = await serverModule<DevOptionsModule>('src/cli/dev/dev-options.js');
    const starts = ofKind('npm start');
    assert.ok(starts.length > 0);
    for (const c of starts) {
      const flags = c.argv.slice(3);
      assert.doesNotThrow(() => parseDevOptions(flags, ROOT), `\`${c.text}\``);
    }
    const problems = proseFlagProblems('dev', DEV_FLAGS, (flag, value) => {
      try {
        parseDevOptions([`--${flag}`, value], ROOT);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(problems, []);
  });

  it('prose flags and env vars of cairn server and cairn federation exist and take the values shown', async () => {
    const server = await serverModule<ServerConfigModule>('src/config/server-config.js');
    const fed = await serverModule<FederationConfigModule>('src/federation/config/federation-config.js');
    const schemaCheck = (shape: Record<string, unknown>) => (flag: string, value: string) => {
      const field = shape[camel(flag)] as { safeParse(v: unknown): { success: boolean } } | undefined;
      return field === undefined || field.safeParse(value).success;
    };
    const problems = [
      ...proseFlagProblems('server', server.SERVER_FLAGS, schemaCheck(server.serverConfigSchema.shape)),
      ...proseFlagProblems('federation', fed.FEDERATION_FLAGS, schemaCheck(fed.federationConfigSchema.shape)),
    ];
    for (const span of README.envSpans) {
      const known = Object.keys(server.SERVER_FLAGS).map(server.envName);
      if (SECTION_COMMAND[span.section] !== 'server' || !known.includes(span.text)) {
        problems.push(`README line ${span.line}: \`${span.text}\` is not an env var cairn server reads`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('npm run scripts exist; sim runs; bench entries exist and answer --help where they take it', async (t) => {
    const runs = ofKind('npm run');
    const packages = readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p));
    const checks = runs.map(async (c) => {
      const script = c.argv[2]!;
      const ws = c.argv[3] === '-w' ? c.argv[4] : undefined;
      const dir = ws === undefined ? ROOT : packages.find((p) => packageJson(p).name === ws);
      assert.ok(dir, `\`${c.text}\`: no workspace ${ws}`);
      const body = packageJson(dir).scripts?.[script];
      assert.ok(body, `\`${c.text}\`: no script ${script} in ${dir}/package.json`);
      if (script === 'sim') {
        const argv = c.argv.map((w, i) => (c.argv[i - 1] === '--count' ? '2' : w));
        const r = await run(argv[0]!, argv.slice(1), { cwd: ROOT, timeoutMs: 60_000 });
        assert.equal(r.code, 0, `${argv.join(' ')}\n${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /sim: 2 passed, 0 failed/);
        return;
      }
      const entry = /^tsc -b && node (\S+)$/.exec(body)?.[1];
      assert.ok(entry, `${script}: expected "tsc -b && node <entry>", got "${body}"`);
      assert.ok(existsSync(join(ROOT, entry)), `${script}: ${entry} missing after the build`);
      if (BENCH_SCRIPTS[script]!.help) {
        const r = await run(process.execPath, [entry, '--help'], { cwd: ROOT });
        assert.equal(r.code, 0, `${entry} --help\n${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /\S/);
      } else t.diagnostic(`${script}: takes no --help; checked that ${entry} exists`);
    });
    await Promise.all(checks);
  });

  it('cairn commands named in the README answer --help, and npx cairn runs the CLI', async (t) => {
    const subs = new Set([
      ...README.cairnNames.map((s) => s.text.split(' ')[1]!),
      ...ofKind('cairn --help').map((c) => cairnArgs(c.argv)![0]!),
    ]);
    await Promise.all(
      [...subs].map(async (sub) => {
        const r = await run(process.execPath, [CLI, sub, '--help']);
        assert.equal(r.code, 0, `cairn ${sub} --help\n${r.stderr}`);
        assert.match(r.stdout, /Usage: cairn/);
      }),
    );
    if (!has('npx')) return t.skip('npx not installed');
    const [viaNpx, direct] = await Promise.all([
      run('npx', ['cairn', 'version'], { cwd: ROOT, timeoutMs: 60_000 }),
      run(process.execPath, [CLI, 'version']),
    ]);
    assert.equal(viaNpx.code, 0, viaNpx.stderr);
    assert.equal(viaNpx.stdout, direct.stdout);
  });

  it('zone, federation, curl, ctl, dig and HAProxy commands work for real, in README order', async (t) => {
    // Not skipped without curl: most README commands are curls, and the rest build on them.
    assert.ok(has('curl'), "curl is needed to run the README's curl commands");
    const { freePort } = await serverModule<ZoneClusterModule>('test/helpers/zone-cluster.js');
    const tmp = mkdtempSync(join(tmpdir(), 'cairn-readme-'));
    const ports = new Map<number, number>();
    for (const p of Object.keys(README_PORTS).map(Number)) {
      let port = await freePort();
      while ([...ports.values()].includes(port) || (p === 8600 && !(await udpFree(port)))) port = await freePort();
      ports.set(p, port);
    }
    const live = new LiveCluster(CLI, new Rewriter(ports, join(tmp, 'data')), tmp);
    t.after(async () => {
      await live.stopAll();
      rmSync(tmp, { recursive: true, force: true });
    });

    // The processes the commands talk to: the README's zone, a fixture for every other zone the
    // federation command names, the demo services `npm start` registers, then the federation.
    let started = false;
    await t.test('start the zone and the federation as the README does', async () => {
      const servers = ofKind('cairn server').filter((c) => !c.argv.includes('--join'));
      assert.ok(servers.length > 0, 'the README starts no zone');
      for (const c of servers) live.launch(live.addServer(c));
      const [fed, ...more] = ofKind('cairn federation');
      assert.ok(fed && more.length === 0, 'expected one `cairn federation` command');
      await live.startFederation(fed);
      for (const [zone, urls] of live.federationZones) {
        if (!live.replicas.some((r) => r.zone === zone)) live.launch(live.addFixtureZone(zone, urls[0]!));
      }
      await Promise.all(live.replicas.map((r) => live.waitReady(r)));
      await Promise.all([...new Set(live.replicas.map((r) => r.zone))].map((z) => live.leader(z)));
      await live.registerDemo();
      await live.waitFederation();
      started = true;
    });
    if (!started) return;

    const registered: Registered = new Map();
    for (const c of README.commands.filter((x) => x.origin === 'block')) {
      const kind = kindOf(c);
      const name = `README line ${c.line}: ${c.text}`;
      switch (kind) {
        case 'curl':
          await t.test(name, async (s) => s.diagnostic(await exerciseCurl(live, c, registered)));
          break;
        case 'cairn ctl':
          await t.test(name, async (s) => s.diagnostic(await exerciseCtl(live, c)));
          break;
        case 'dig':
          await t.test(name, { skip: has('dig') ? false : 'dig not installed' }, async (s) =>
            s.diagnostic(await exerciseDig(live, c)),
          );
          break;
        case 'haproxy -c':
          await t.test(name, { skip: has('haproxy') ? false : 'haproxy not installed' }, async (s) =>
            s.diagnostic(await exerciseHaproxyCheck(ROOT, c)),
          );
          break;
        case 'haproxy':
          await t.test(name, { skip: has('haproxy') ? false : 'haproxy not installed' }, async (s) =>
            s.diagnostic(await exerciseHaproxyRun(live, ROOT, c, freePort)),
          );
          break;
        case 'cairn server':
          // Started above, except a replica that joins a running zone: it starts here, in README order.
          if (c.argv.includes('--join')) {
            await t.test(name, async () => {
              const r = live.addServer(c);
              live.launch(r);
              await until(`${r.id} to listen`, async () => ((await fetch(`${r.url}/healthz`)).ok ? true : undefined));
            });
          }
          break;
        default:
          // shell variables, npm and --help commands: the tests above.
          break;
      }
    }

    await backupAndRestore(t, live);
  });
});

/**
 * The README's "Backup and restore", on the replica that leads (so that SIGTERM's handover is
 * exercised too): copy a stopped replica's data dir and start it again; replace a replica whose data
 * is lost (remove it, start it empty with --join --advertise, add it, promote it); then restart it
 * with its usual command line. Each time, a registration made while it was down must reach it.
 */
async function backupAndRestore(
  t: { test: (name: string, fn: () => Promise<void>) => Promise<void> },
  live: LiveCluster,
) {
  const zone = live.replicas.find((r) => !r.args.includes('--join') && r.args.includes('--peers'))?.zone;
  assert.ok(zone, 'no replicated zone to back up');
  const target = await live.leader(zone);
  const others = () => live.replicas.filter((r) => r.zone === zone && r !== target && r.proc?.alive);
  const listen = new URL(target.url).host;
  let probes = 0;
  const seen: string[] = [];

  /** The leader among the other replicas (the zone must stay writable while `target` is down). */
  const otherLeader = async (): Promise<Replica> => {
    const via = others()[0]!;
    const id = await until('a leader among the other replicas', async () => {
      const view = await live.cluster(via);
      return view.leader && view.leader !== target.id ? view.leader : undefined;
    });
    return live.replica(zone, id);
  };
  const registerWhileDown = async () => {
    const service = `restore-probe-${++probes}`;
    await getJson(`${(await otherLeader()).url}/v1/instances`, {
      method: 'POST',
      body: { service, ip: '127.0.0.1', port: 4000 + probes, ephemeral: false },
    });
    seen.push(service);
  };
  /** `target` caught up: every probe is in its own applied state (no consistent read). */
  const caughtUp = async () => {
    await live.waitReady(target);
    await until(`${target.id} to hold ${seen.join(', ')}`, async () => {
      for (const s of seen) {
        if (!(await fetch(`${target.url}/v1/services/public/DEFAULT_GROUP/${s}`)).ok) return undefined;
      }
      return true;
    });
  };
  const sigterm = async () => {
    await target.proc!.stop('SIGTERM');
    assert.equal(target.proc!.exitCode, 0, `exit after SIGTERM:\n${target.proc!.output.slice(-4000)}`);
  };

  await t.test(`backup: SIGTERM ${zone}/${target.id} (the leader), copy its data dir, start it again`, async () => {
    await sigterm();
    await registerWhileDown();
    cpSync(target.dataDir, join(live.cwd, 'backup', `${zone}-${target.id}`), { recursive: true });
    live.launch(target);
    await caughtUp();
  });

  await t.test(
    `data lost: remove ${target.id}, start it empty with --join --advertise, add it, promote it`,
    async () => {
      await target.proc!.stop('SIGKILL');
      rmSync(target.dataDir, { recursive: true, force: true });
      await registerWhileDown();
      const leader = await otherLeader();
      await getJson(`${leader.url}/v1/cluster/members/${target.id}`, { method: 'DELETE' });
      live.launch(target, ['--join', '--advertise', listen]);
      await until(`${target.id} to listen`, async () => ((await fetch(`${target.url}/healthz`)).ok ? true : undefined));
      await getJson(`${leader.url}/v1/cluster/members`, { method: 'POST', body: { id: target.id, address: listen } });
      await until(`${target.id} to be promoted`, async () => {
        const res = await fetch(`${leader.url}/v1/cluster/members/${target.id}/promote`, { method: 'POST' });
        return res.ok ? true : undefined;
      });
      await caughtUp();
    },
  );

  await t.test(`${target.id} restarts with its usual command line (no --join)`, async () => {
    await sigterm();
    await registerWhileDown();
    live.launch(target);
    await caughtUp();
    const view = await live.cluster(await live.leader(zone));
    assert.deepEqual(
      view.members
        .filter((m) => m.voter)
        .map((m) => m.id)
        .sort(),
      live.replicas
        .filter((r) => r.zone === zone && !r.args.includes('--join'))
        .map((r) => r.id)
        .sort(),
    );
  });
}

/** Problems with the prose's flag spans for `command` (the section they are written in names it). */
function proseFlagProblems(
  command: 'dev' | 'server' | 'federation',
  flags: Readonly<Record<string, { readonly type: string }>>,
  valueOk: (flag: string, value: string) => boolean,
): string[] {
  const problems: string[] = [];
  for (const s of README.flagSpans.filter((x: ProseSpan) => SECTION_COMMAND[x.section] === command)) {
    const words = s.text.split(/\s+/);
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (!w.startsWith('--')) continue;
      const flag = w.slice(2);
      const def = flags[flag];
      if (!def) {
        problems.push(`README line ${s.line}: cairn ${command} has no --${flag}`);
        continue;
      }
      const value = words[i + 1];
      if (def.type !== 'string' || value === undefined || value.startsWith('--')) continue;
      i++;
      // Placeholders (host:port, <n>) stand for a value; concrete ones must be accepted.
      if (!/host|port|<|>/.test(value) && !valueOk(flag, value)) {
        problems.push(`README line ${s.line}: cairn ${command} refuses --${flag} ${value}`);
      }
    }
  }
  return problems;
}
