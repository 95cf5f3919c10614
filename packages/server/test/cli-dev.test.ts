import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI } from './helpers/zone-cluster.js';

/** Runs `cairn dev` until it prints its summary; returns a stop function that sends SIGINT. */
async function startDev(args: string[]): Promise<{ output: () => string; stop: () => Promise<number | null> }> {
  const proc = spawn(process.execPath, [CLI, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  const deadline = Date.now() + 90_000;
  while (!out.includes('cairn is running') && Date.now() < deadline && proc.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!out.includes('cairn is running')) {
    proc.kill('SIGKILL');
    throw new Error(`cairn dev did not come up:\n${out}`);
  }
  return {
    output: () => out,
    stop: async () => {
      proc.kill('SIGINT');
      return exited;
    },
  };
}

describe('cairn dev', { timeout: 240_000 }, () => {
  it('starts two zones of three replicas with demo services, stops on Ctrl-C, and reuses its data', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dev-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const base = 21_000 + Math.floor(Math.random() * 8000);
    const args = ['--data-dir', dir, '--base-port', String(base)];

    const first = await startDev(args);
    assert.match(first.output(), /starting az1 \.\.\. ready \(leader n\d\)/);
    assert.match(first.output(), /starting az2 \.\.\. ready \(leader n\d\)/);
    const az2 = `http://127.0.0.1:${base + 1000}`;
    const orders = (await (await fetch(`${az2}/v1/services/public/DEFAULT_GROUP/orders`)).json()) as {
      instances: { zone: string }[];
    };
    assert.equal(orders.instances.length, 3);
    assert.ok(orders.instances.every((i) => i.zone === 'az2'));
    // The commands the summary suggests work as printed.
    const put = await fetch(`http://127.0.0.1:${base}/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'hello', ip: '127.0.0.1', port: 3000, ephemeral: false }),
    });
    assert.equal(put.status, 200);
    assert.equal(await first.stop(), 0);
    assert.match(first.output(), /cairn dev: stopped/);

    const second = await startDev([...args, '--no-demo']);
    t.after(() => second.stop());
    const hello = (await (
      await fetch(`http://127.0.0.1:${base + 2}/v1/services/public/DEFAULT_GROUP/hello`)
    ).json()) as {
      instances: unknown[];
    };
    assert.equal(hello.instances.length, 1, 'the data survived the restart');
    assert.equal(await second.stop(), 0);
  });

  it('refuses bad options with a usage message', async () => {
    const proc = spawn(process.execPath, [CLI, 'dev', '--zones', 'lots'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((done) => proc.once('exit', (c) => done(c)));
    assert.equal(code, 2);
    assert.match(err, /--zones must be a whole number/);
  });
});
