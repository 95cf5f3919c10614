import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { FederatedChange } from '../../src/federation/federated-view.js';
import { CLI, startZoneCluster, type ZoneCluster } from '../helpers/zone-cluster.js';
import { http, ORDERS, register, startFederation, type TestFederation, waitFor } from './federation-kit.js';

// One real zone of three replicas watched by a federation node: it follows the loss of the watched
// replica (killed, or frozen) by resuming from its revision on another one, and reports the zone
// stale only when no replica is left.

describe('zone watcher failover', () => {
  let zone: ZoneCluster;
  let fed: TestFederation;
  const changes: FederatedChange[] = [];

  before(async () => {
    zone = await startZoneCluster({ zone: 'az1', replicas: 3 });
    fed = await startFederation([{ zone: 'az1', urls: zone.urls }], {
      // A frozen replica is noticed after 4 s without a frame or pong (not less: this machine is shared).
      tuning: { pingIntervalMs: 500, deadAfterMs: 4000 },
    });
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await register(zone.urls[0]!, 'orders', ip);
    await waitFor(() => fed.view.service(ORDERS)?.total === 3, 'the federation sees 3 instances');
    fed.view.onChange((_r, c) => changes.push(...c));
  });

  after(async () => {
    for (const r of zone?.replicas ?? []) r.proc?.kill('SIGCONT');
    await fed?.close();
    await zone?.stop();
  });

  const watchedId = (): string => {
    const url = fed.view.zone('az1')!.replica;
    const r = zone.replicas.find((x) => x.url === url);
    assert.ok(r, `watching a replica (${url})`);
    return r.id;
  };

  /** Registers through any live replica, retrying while the zone elects a leader. */
  const registerSomewhere = async (ip: string, avoid?: string): Promise<void> => {
    await waitFor(
      async () => {
        for (const r of zone.replicas.filter((x) => x.proc && x.id !== avoid)) {
          try {
            await register(r.url, 'orders', ip);
            return true;
          } catch {
            // no leader yet, or this replica is frozen
          }
        }
        return false;
      },
      `registering ${ip}`,
      30_000,
    );
  };

  test('a leader change (cairn ctl leader-transfer) does not disturb the watch', async () => {
    const w = fed.watchers[0]!;
    const failovers = w.stats.failovers;
    const leader = await zone.leader();
    const to = zone.replicas.find((r) => r.id !== leader)!.id;
    const ctl = spawnSync(process.execPath, [CLI, 'ctl', 'leader-transfer', to, '--server', zone.urls[0]!], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(ctl.status, 0, ctl.stderr);
    assert.match(ctl.stdout, new RegExp(`handed from ${leader} to ${to}`));
    assert.equal(await zone.leader(), to);
    await registerSomewhere('10.0.0.9');
    await waitFor(() => fed.view.service(ORDERS)?.total === 4, 'a write under the new leader arrives');
    assert.equal(w.stats.failovers, failovers);
    await http('DELETE', `${zone.urls[0]}/v1/instances?service=orders&ip=10.0.0.9&port=8080`);
    await waitFor(() => fed.view.service(ORDERS)?.total === 3, 'back to 3 instances');
  });

  test('the watched replica is killed: the watch resumes by revision on another replica, without a snapshot', async (t) => {
    const w = fed.watchers[0]!;
    const snapshots = w.stats.snapshots;
    const resumes = w.stats.resumes;
    const victim = watchedId();
    changes.length = 0;
    await zone.kill(victim);
    t.after(async () => {
      zone.start(victim);
      await zone.waitReady(victim);
    });
    await registerSomewhere('10.0.0.4');
    await waitFor(() => fed.view.service(ORDERS)?.total === 4, 'the new instance reaches the federation', 30_000);
    const st = fed.view.zone('az1')!;
    assert.equal(st.state, 'live');
    assert.notEqual(st.replica, zone.replica(victim).url);
    assert.equal(w.stats.snapshots, snapshots, 'no new snapshot');
    assert.ok(w.stats.resumes > resumes, 'resumed by revision');
    assert.equal(w.stats.failovers, 1);
    assert.ok(
      changes.every((c) => !(c.kind === 'instance' && c.action === 'delete')),
      'the view never lost an instance',
    );
  });

  test('the watched replica freezes (no frames, no pongs): the watcher moves on', async () => {
    const w = fed.watchers[0]!;
    const failovers = w.stats.failovers;
    const frozen = watchedId();
    const proc = zone.replica(frozen).proc!;
    proc.kill('SIGSTOP');
    try {
      await waitFor(
        () => fed.view.zone('az1')!.replica !== zone.replica(frozen).url && fed.view.zone('az1')!.state === 'live',
        'watching another replica',
        30_000,
      );
      assert.equal(w.stats.failovers, failovers + 1);
      await registerSomewhere('10.0.0.5', frozen);
      await waitFor(() => fed.view.service(ORDERS)?.total === 5, 'a change after the failover arrives', 30_000);
    } finally {
      proc.kill('SIGCONT');
    }
  });

  test('every replica down: the zone turns stale and is kept (fail-static); it comes back live', async () => {
    changes.length = 0;
    await Promise.all(zone.replicas.map((r) => zone.kill(r.id)));
    await waitFor(() => fed.view.zone('az1')!.state === 'stale', 'zone stale');
    const st = fed.view.zone('az1')!;
    assert.equal(st.serving, true);
    assert.equal(st.replica, null);
    assert.ok(st.staleSinceMs !== null && st.staleSinceMs <= Date.now());
    const s = fed.view.service(ORDERS)!;
    assert.equal(s.total, 5);
    assert.ok(s.instances.every((i) => i.stale && i.effectiveWeight > 0));
    for (const r of zone.replicas) zone.start(r.id);
    await zone.leader(30_000);
    await waitFor(() => fed.view.zone('az1')!.state === 'live', 'zone live again', 30_000);
    assert.ok(fed.view.service(ORDERS)!.instances.every((i) => !i.stale));
    assert.ok(changes.every((c) => !(c.kind === 'instance' && c.action === 'delete')));
  });
});
