import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CLI, freePort, startZoneCluster, type ZoneCluster } from '../helpers/zone-cluster.js';
import { http, register, waitFor } from './federation-kit.js';

// `cairn federation` and `cairn ctl` as processes, against one real zone.

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cairn(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CAIRN_SERVER: '', CAIRN_TOKEN: '', CAIRN_ZONES: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    proc.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.on('error', reject);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('cairn federation and cairn ctl (processes)', () => {
  let zone: ZoneCluster;
  let fedProc: ChildProcess | null = null;
  let fedUrl = '';
  let fedOutput = '';

  before(async () => {
    zone = await startZoneCluster({ zone: 'az1', replicas: 1 });
    await register(zone.urls[0]!, 'orders', '10.0.0.1');
    const port = await freePort();
    fedUrl = `http://127.0.0.1:${port}`;
    fedProc = spawn(
      process.execPath,
      [CLI, 'federation', '--listen', `127.0.0.1:${port}`, '--dns', 'off', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAIRN_ZONES: `az1=${zone.urls[0]}` } },
    );
    const keep = (b: Buffer) => {
      fedOutput = (fedOutput + b.toString()).slice(-16_384);
    };
    fedProc.stdout?.on('data', keep);
    fedProc.stderr?.on('data', keep);
    await waitFor(
      async () => {
        if (fedProc?.exitCode !== null) throw new Error(`cairn federation exited:\n${fedOutput}`);
        try {
          return (await http('GET', `${fedUrl}/readyz`)).status === 200;
        } catch {
          return false;
        }
      },
      'cairn federation ready',
      30_000,
    );
    await waitFor(
      async () => (await http<{ total: number }>('GET', `${fedUrl}/v1/services`)).body.total === 1,
      'the federation sees orders',
    );
  });

  after(async () => {
    if (fedProc && fedProc.exitCode === null) fedProc.kill('SIGKILL');
    await zone?.stop();
  });

  test('cairn federation: --help, and clear errors with exit code 2', async () => {
    const [help, bad, none, unknown] = await Promise.all([
      cairn(['federation', '--help']),
      cairn(['federation', '--zone', 'az1=h:1', '--policy', 'sometimes', '--dns', 'off']),
      cairn(['federation', '--dns', 'off']),
      cairn(['federation', '--zones', 'x']),
    ]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--zone <value>/);
    assert.match(help.stdout, /CAIRN_ZONES/);

    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid federation configuration/);
    assert.match(bad.stderr, /--zone: zone 'az1': 'h:1' must be a URL like http:\/\/host:port/);
    assert.match(bad.stderr, /--policy: /);

    assert.equal(none.code, 2);
    assert.match(none.stderr, /give at least one zone/);

    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--zones'/);
  });

  test('ctl zones, services and members against the federation and the zone', async () => {
    const zones = await cairn(['ctl', 'zones', '--server', fedUrl]);
    assert.equal(zones.code, 0, zones.stderr);
    assert.match(zones.stdout, /^ZONE\s+STATE\s+SINCE\s+SERVING\s+WEIGHT/m);
    assert.match(zones.stdout, /^az1\s+live\s+-\s+yes\s+100\s+1\s+1\s+1\s/m);

    const json = await cairn(['ctl', 'zones', '--json'], { CAIRN_SERVER: fedUrl });
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { zones: { zone: string }[] }).zones[0]!.zone, 'az1');

    const zoneWeights = await cairn(['ctl', 'zones', '--server', zone.urls[0]!]);
    assert.equal(zoneWeights.code, 0, zoneWeights.stderr);
    assert.match(zoneWeights.stdout, /zone registry .* \(zone az1\)/);
    assert.match(zoneWeights.stdout, /^az1\s+100$/m);

    const services = await cairn(['ctl', 'services', '--server', fedUrl, '--name', 'ord']);
    assert.equal(services.code, 0, services.stderr);
    assert.match(services.stdout, /^public\s+DEFAULT_GROUP\s+orders\s+1\s+1\s+az1 1\/1 100%$/m);
    const zoneServices = await cairn(['ctl', 'services', '--server', zone.urls[0]!]);
    assert.match(zoneServices.stdout, /^public\s+DEFAULT_GROUP\s+orders\s+1\s+1$/m);

    const members = await cairn(['ctl', 'members', '--server', zone.urls[0]!]);
    assert.equal(members.code, 0, members.stderr);
    assert.match(members.stdout, /^n1\s+127\.0\.0\.1:\d+\s+leader\s/m);
    const viaFed = await cairn(['ctl', 'members', '--server', fedUrl, '--zone', 'az1']);
    assert.equal(viaFed.code, 0, viaFed.stderr);
    assert.match(viaFed.stdout, /replicas seen from the federation: .* up/);
    const noZone = await cairn(['ctl', 'members', '--server', fedUrl]);
    assert.equal(noZone.code, 1);
    assert.match(noZone.stderr, /--zone/);
  });

  test('ctl zone-weight sets the weight in the zone; the federation applies it', async () => {
    const set = await cairn(['ctl', 'zone-weight', 'az1', '40', '--server', zone.urls[0]!, '--token', 't0k3n']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /zone az1 weight set to 40 at revision \d+/);
    await waitFor(
      async () =>
        (await http<{ zones: { weight: number }[] }>('GET', `${fedUrl}/v1/zones`)).body.zones[0]!.weight === 40,
      'the federation applies weight 40',
    );
    // Through the federation, which forwards it to the zone.
    const back = await cairn(['ctl', 'zone-weight', 'az1', '100', '--json'], { CAIRN_SERVER: fedUrl });
    assert.equal(back.code, 0, back.stderr);
    assert.equal((JSON.parse(back.stdout) as { weight: number }).weight, 100);
  });

  test('ctl exit codes: 2 for usage errors, 1 for refusals and unreachable servers', async () => {
    const usage = [
      ['ctl'],
      ['ctl', 'bogus'],
      ['ctl', 'zone-weight', 'az1', '101'],
      ['ctl', 'zone-weight', 'az1'],
      ['ctl', 'zones', '--bogus'],
      ['ctl', 'leader-transfer'],
      ['ctl', 'zones', '--server', 'not a url'],
    ];
    const runs = await Promise.all(usage.map((args) => cairn(args)));
    runs.forEach((r, i) => assert.equal(r.code, 2, `${usage[i]!.join(' ')}: ${r.stderr}`));
    const refused = await cairn(['ctl', 'zone-weight', 'az7', '10', '--server', fedUrl]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /NOT_FOUND: no zone 'az7'/);
    const down = await cairn(['ctl', 'zones', '--server', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach/);
    assert.equal((await cairn(['ctl', '--help'])).code, 0);
  });

  test('cairn federation stops cleanly on SIGTERM', async () => {
    const proc = fedProc!;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, fedOutput);
  });
});
