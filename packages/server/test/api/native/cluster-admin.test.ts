import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, freePort, sleep, startZoneCluster } from '../../helpers/zone-cluster.js';

interface ClusterView {
  leader: string;
  members: { id: string; address: string; voter: boolean }[];
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = init?.body === undefined ? {} : { 'content-type': 'application/json' };
  const res = await fetch(url, { ...init, headers });
  return { status: res.status, body: (await res.json()) as T };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('zone administration through the API', () => {
  it('adds a replica as a learner, promotes it, hands it leadership, then removes it', async (t) => {
    const zone = await startZoneCluster();
    t.after(() => zone.stop());
    const leaderId = await zone.leader();
    const leader = zone.replica(leaderId);
    const follower = zone.replicas.find((r) => r.id !== leaderId)!;

    // Something to replicate to the newcomer.
    for (let i = 0; i < 20; i++) {
      await json(`${leader.url}/v1/instances`, {
        method: 'POST',
        body: JSON.stringify({ service: 'orders', ip: '10.0.0.1', port: 9000 + i, ephemeral: false }),
      });
    }

    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cairn-join-'));
    const n4 = spawn(
      process.execPath,
      [
        CLI,
        'server',
        '--zone',
        zone.zone,
        '--node-id',
        'n4',
        '--listen',
        `127.0.0.1:${port}`,
        '--advertise',
        `127.0.0.1:${port}`,
        '--join',
        '--data-dir',
        dir,
        '--cluster-secret',
        'test-cluster-secret-0123456789',
        '--tick-ms',
        '50',
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    t.after(() => {
      n4.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    const onFollower = await json<{ code: string; message: string }>(`${follower.url}/v1/cluster/members`, {
      method: 'POST',
      body: JSON.stringify({ id: 'n4', address: `127.0.0.1:${port}` }),
    });
    assert.equal(onFollower.status, 503);
    assert.equal(onFollower.body.code, 'NO_LEADER');
    assert.match(onFollower.body.message, new RegExp(leader.url.slice('http://'.length)));

    // A leader refuses membership changes (CONFLICT) until it has committed an entry of its own
    // term; on a busy machine the zone may have just elected one, so retry that refusal only.
    const added = await until('n4 to be added', async () => {
      const r = await json<{ code?: string }>(`${leader.url}/v1/cluster/members`, {
        method: 'POST',
        body: JSON.stringify({ id: 'n4', address: `127.0.0.1:${port}` }),
      });
      return r.status === 409 && r.body.code === 'CONFLICT' ? undefined : r;
    });
    assert.equal(added.status, 200);

    // The learner catches up and serves the data it was sent.
    await until('n4 to hold every instance', async () => {
      const { body } = await json<{ instances: unknown[] }>(
        `http://127.0.0.1:${port}/v1/services/public/DEFAULT_GROUP/orders`,
      );
      return body.instances.length === 20 ? true : undefined;
    });
    const promoted = await until('n4 to be promoted', async () => {
      const r = await json(`${leader.url}/v1/cluster/members/n4/promote`, { method: 'POST' });
      return r.status === 200 ? r : undefined;
    });
    assert.equal(promoted.status, 200);
    const view = (await json<ClusterView>(`${leader.url}/v1/cluster`)).body;
    assert.deepEqual(
      view.members
        .filter((m) => m.voter)
        .map((m) => m.id)
        .sort(),
      ['n1', 'n2', 'n3', 'n4'],
    );

    const moved = await json(`${leader.url}/v1/cluster/leader`, { method: 'POST', body: JSON.stringify({ to: 'n4' }) });
    assert.equal(moved.status, 200);
    await until('n4 to lead', async () =>
      (await json<ClusterView>(`${leader.url}/v1/cluster`)).body.leader === 'n4' ? true : undefined,
    );

    const removed = await json(`http://127.0.0.1:${port}/v1/cluster/members/n4`, { method: 'DELETE' });
    assert.equal(removed.status, 200);
    const after = await until('a three-voter zone led by another replica', async () => {
      const v = (await json<ClusterView>(`${leader.url}/v1/cluster`)).body;
      return v.leader && v.leader !== 'n4' && v.members.filter((m) => m.voter).length === 3 ? v : undefined;
    });
    assert.ok(['n1', 'n2', 'n3'].includes(after.leader));

    const bad = await json<{ code: string }>(`${zone.replica(after.leader).url}/v1/cluster/members`, {
      method: 'POST',
      body: JSON.stringify({ id: 'bad id', address: 'nowhere' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
  });

  it('stores zone weights through Raft and lists them with the zone default', async (t) => {
    const zone = await startZoneCluster();
    t.after(() => zone.stop());
    const put = await json(`${zone.urls[1]}/v1/zones/az2/weight`, {
      method: 'PUT',
      body: JSON.stringify({ weight: 30 }),
    });
    assert.equal(put.status, 200);
    const listed = await json<{ weights: { zone: string; weight: number }[] }>(
      `${zone.urls[2]}/v1/zones/weights?consistent=true`,
    );
    assert.deepEqual(listed.body.weights, [
      { zone: 'az1', weight: 100 },
      { zone: 'az2', weight: 30 },
    ]);
    const refused = await json(`${zone.urls[0]}/v1/zones/az1/weight`, {
      method: 'PUT',
      body: JSON.stringify({ weight: 101 }),
    });
    assert.equal(refused.status, 400);
  });
});
