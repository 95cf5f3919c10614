import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LongPollGate } from '../../../src/api/native/long-poll.js';
import type { Instance } from '../../../src/registry/model.js';
import type { Change } from '../../../src/registry/registry-state.js';
import { WatchHub } from '../../../src/registry/watch-hub.js';

const ORDERS = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };

const put = (service: string, revision: number): Change => ({
  kind: 'instance',
  action: 'put',
  instance: { ...ORDERS, service, revision } as unknown as Instance,
  revision,
});

describe('LongPollGate', () => {
  it('answers at once for a change already in the history after waitIndex', async () => {
    const hub = new WatchHub({ historyMax: 100, queueMax: 10 });
    hub.publish(5, [put('orders', 5)]);
    hub.publish(6, [put('other', 6)]);
    const gate = new LongPollGate(hub, 4);
    assert.equal(await gate.wait(ORDERS, 4, 60_000), 'changed');
    assert.equal(await gate.wait(ORDERS, 5, 30), 'timeout', 'nothing for orders after 5');
    assert.equal(hub.watcherCount, 0, 'every poll unwatches');
  });

  it('wakes on a change to its service only, and answers a client that is ahead of this replica', async () => {
    const hub = new WatchHub({ historyMax: 100, queueMax: 10 });
    hub.publish(10, []);
    const gate = new LongPollGate(hub, 4);
    const poll = gate.wait(ORDERS, 12, 60_000);
    hub.publish(11, [put('other', 11)]);
    hub.publish(12, [put('orders', 12)]); // the client saw this one elsewhere already
    await new Promise((r) => setImmediate(r));
    assert.equal(gate.pendingCount, 1);
    hub.publish(13, [put('orders', 13)]);
    assert.equal(await poll, 'changed');
  });

  it('answers at once when the history no longer reaches back to waitIndex', async () => {
    const hub = new WatchHub({ historyMax: 2, queueMax: 10 });
    for (let r = 1; r <= 5; r++) hub.publish(r, [put('other', r)]);
    const gate = new LongPollGate(hub, 4);
    assert.equal(await gate.wait(ORDERS, 1, 60_000), 'changed');
  });

  it('bounds the polls held at once, answers them on abort and on close', async () => {
    const hub = new WatchHub({ historyMax: 100, queueMax: 10 });
    const gate = new LongPollGate(hub, 2);
    const aborter = new AbortController();
    const a = gate.wait(ORDERS, 0, 60_000, aborter.signal);
    const b = gate.wait(ORDERS, 0, 60_000);
    assert.throws(() => gate.wait(ORDERS, 0, 60_000), { code: 'RATE_LIMITED' });
    aborter.abort();
    assert.equal(await a, 'aborted');
    gate.closeAll();
    assert.equal(await b, 'aborted');
    assert.equal(gate.pendingCount, 0);
    assert.equal(hub.watcherCount, 0);
  });
});
