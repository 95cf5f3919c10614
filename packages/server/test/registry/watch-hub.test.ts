import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Change } from '../../src/registry/registry-state.js';
import { WatchHub } from '../../src/registry/watch-hub.js';

const weight = (revision: number, zone = 'az1'): Change => ({ kind: 'zoneWeight', zone, weight: revision, revision });
const svc = (revision: number, service: string): Change => ({
  kind: 'service',
  action: 'put',
  service: { namespace: 'public', group: 'G', service, protectThreshold: 0, metadata: {}, createdAt: 0, revision },
  revision,
});

describe('WatchHub', () => {
  it('delivers changes in revision order, filtered by service, waking the watcher once per batch', () => {
    const hub = new WatchHub({ historyMax: 100, queueMax: 100 });
    let wakes = 0;
    const { watcher } = hub.watch({ services: new Set(['public/G/orders']) }, () => wakes++);
    hub.publish(1, [svc(1, 'orders')]);
    hub.publish(2, [svc(2, 'payments')]);
    hub.publish(3, [svc(3, 'orders')]);
    assert.equal(wakes, 1);
    assert.deepEqual(
      hub.drain(watcher).map((e) => (e.type === 'delta' ? e.revision : e.type)),
      [1, 3],
    );
  });

  it('a watcher resuming from a revision gets exactly the changes after it; too old a revision is refused', () => {
    const hub = new WatchHub({ historyMax: 3, queueMax: 100 });
    for (let r = 1; r <= 5; r++) hub.publish(r, [weight(r)]);
    const resumed = hub.watch({ all: true }, () => {}, 3);
    assert.equal(resumed.resumed, true);
    assert.deepEqual(
      hub.drain(resumed.watcher).map((e) => (e.type === 'delta' ? e.revision : e.type)),
      [4, 5],
    );
    assert.equal(hub.oldestResumable, 2);
    assert.equal(hub.watch({ all: true }, () => {}, 1).resumed, false);
    assert.equal(hub.watch({ all: true }, () => {}, 99).resumed, false, 'a revision from the future is refused too');
  });

  it('a slow consumer is bounded: its backlog becomes a single resync', () => {
    const hub = new WatchHub({ historyMax: 1000, queueMax: 10 });
    const { watcher } = hub.watch({ all: true }, () => {});
    for (let r = 1; r <= 500; r++) hub.publish(r, [weight(r)]);
    const events = hub.drain(watcher);
    assert.deepEqual(events, [{ type: 'resync', reason: 'the watcher fell too far behind' }]);
    hub.publish(501, [weight(501)]);
    assert.equal(hub.drain(watcher).length, 1, 'after the resync the watcher streams again');
  });

  it('history never splits a revision', () => {
    const hub = new WatchHub({ historyMax: 2, queueMax: 100 });
    hub.publish(1, [weight(1, 'a'), weight(1, 'b'), weight(1, 'c')]);
    hub.publish(2, [weight(2)]);
    assert.equal(hub.oldestResumable, 1, 'revision 1 was dropped whole, not in part');
  });
});
