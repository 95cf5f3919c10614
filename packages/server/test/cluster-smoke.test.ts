import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startZoneCluster } from './helpers/zone-cluster.js';

describe('a zone of three cairn server processes', () => {
  it('elects one leader, reports it from every replica, and elects another after the leader is killed', async (t) => {
    const zone = await startZoneCluster();
    t.after(() => zone.stop());
    const first = await zone.leader();
    const views = await Promise.all(
      zone.urls.map(
        async (u) => (await (await fetch(`${u}/v1/cluster`)).json()) as { leader: string; members: unknown[] },
      ),
    );
    for (const v of views) {
      assert.equal(v.leader, first);
      assert.equal(v.members.length, 3);
    }
    await zone.kill(first);
    const second = await zone.leader();
    assert.notEqual(second, first);
    await zone.restart(first);
    assert.equal(await zone.leader(), second, 'the restarted replica rejoins as a follower');
  });
});
