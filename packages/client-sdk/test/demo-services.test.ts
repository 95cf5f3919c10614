import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_SERVICES, parseInstances } from '../src/demo/demo-services.js';
import { type ZoneCluster, zoneCluster } from './helpers/cluster.js';

// The program as `cairn dev` finds it: through the package's `./demo` export.
const PROGRAM = fileURLToPath(import.meta.resolve('@cairn/client-sdk/demo'));

interface ReadyLine {
  zone: string;
  instances: { service: string; id: string; url: string; version: string }[];
}

interface ServiceAnswer {
  instances: { ip: string; port: number; ephemeral: boolean; metadata: Record<string, string> }[];
}

describe('the SDK demo program', { timeout: 60_000 }, () => {
  let zone: ZoneCluster;

  before(async () => {
    zone = await zoneCluster.startZoneCluster({ zone: 'az1', replicas: 1 });
  });
  after(() => zone?.stop());

  const instancesOf = async (service: string) => {
    const res = await fetch(`${zone.urls[0]}/v1/services/public/DEFAULT_GROUP/${service}`);
    return res.status === 404 ? [] : ((await res.json()) as ServiceAnswer).instances;
  };

  it('is the compiled demo of this package', () => {
    assert.equal(
      realpathSync(PROGRAM),
      realpathSync(fileURLToPath(new URL('../src/demo/demo-services.js', import.meta.url))),
    );
  });

  it('registers its services through a session, serves HTTP, and deregisters them all on SIGTERM', async (t) => {
    const proc = spawn(process.execPath, [PROGRAM, '--zone', 'az1', '--servers', zone.urls.join(',')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    let out = '';
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    proc.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!/^ready /m.test(out) && proc.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const line = out.split('\n').find((l) => l.startsWith('ready '));
    assert.ok(line, `a ready line:\n${out}`);
    const ready = JSON.parse(line.slice('ready '.length)) as ReadyLine;
    assert.equal(ready.zone, 'az1');
    assert.deepEqual(
      ready.instances.map((i) => i.service),
      DEMO_SERVICES.flatMap((s) => Array.from({ length: s.instances }, () => s.service)),
    );

    // Registered as they were announced: ephemeral (under the process's session), labelled.
    for (const s of DEMO_SERVICES) {
      const registered = await instancesOf(s.service);
      const announced = ready.instances.filter((i) => i.service === s.service);
      assert.deepEqual(
        registered.map((i) => `http://${i.ip}:${i.port}`).sort(),
        announced.map((i) => i.url).sort(),
        s.service,
      );
      assert.ok(registered.every((i) => i.ephemeral && i.metadata['demo'] === 'true'));
      assert.deepEqual(registered.map((i) => i.metadata['version']).sort(), announced.map((i) => i.version).sort());
    }

    // Each instance answers who it is; orders calls payments through the SDK's Dispatcher.
    for (const i of ready.instances) {
      const res = await fetch(i.url);
      assert.equal(res.status, 200);
      assert.deepEqual(
        { ...((await res.json()) as object) },
        { service: i.service, zone: 'az1', version: i.version, instance: i.url.slice('http://'.length) },
      );
    }
    const orders = ready.instances.find((i) => i.service === 'orders')!;
    const call = (await (await fetch(`${orders.url}/call`)).json()) as {
      called: { status: number; answer: { service: string; zone: string; instance: string } };
    };
    assert.equal(call.called.status, 200);
    assert.equal(call.called.answer.service, 'payments');
    const payments = ready.instances.filter((i) => i.service === 'payments').map((i) => i.url.slice(7));
    assert.ok(payments.includes(call.called.answer.instance));

    // SIGTERM: every instance leaves at once (the session closes; no waiting for a lease to run out).
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /deregistering 5 instances\n.*stopped/);
    for (const s of DEMO_SERVICES) assert.deepEqual(await instancesOf(s.service), [], s.service);
    for (const i of ready.instances) await assert.rejects(fetch(i.url), `${i.url} stopped listening`);
  });

  it('takes other instance counts, and refuses bad options', async () => {
    assert.deepEqual(parseInstances('orders=1, inventory=3'), [
      { service: 'orders', instances: 1, calls: { service: 'payments', path: '/charge' } },
      { service: 'inventory', instances: 3 },
    ]);
    assert.throws(() => parseInstances('orders'), /must be service=count/);
    const proc = spawn(process.execPath, [PROGRAM, '--zone', 'az1', '--servers', zone.urls[0]!, '--instances', 'x=0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(err, /x: instances must be 1-20, got 0/);
  });
});
