import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnapshotCursor } from '../../../src/api/watch/snapshot-cursor.js';
import type { FederatedChange, FederatedView } from '../../../src/federation/federated-view.js';
import { ChangeFeed } from '../../../src/federation/watch/change-feed.js';
import { ChangeEncoder, encodeDeltas } from '../../../src/federation/watch/watch-encoding.js';
import { StaticView } from '../../helpers/static-view.js';

const put = (view: StaticView, i: number, service = 'orders'): void => {
  view.putInstance({ zone: 'az1', service, ip: `10.0.0.${i}`, port: 80 });
};

test('the history keeps whole batches within its bound and resumes only inside it', () => {
  const view = new StaticView({ zones: ['az1'], revision: 10 });
  const feed = new ChangeFeed(view, { historyChangesMax: 4, queueChangesMax: 100 });
  assert.equal(feed.oldestResumable, 10);
  for (let i = 1; i <= 3; i++) put(view, i); // revisions 11..13
  view.batch(() => {
    put(view, 4);
    put(view, 5);
  }); // revision 14 (two changes)
  assert.equal(feed.revision, 14);
  // 5 changes > 4: the oldest batch (11) went; resumes from 11 on still work.
  assert.equal(feed.oldestResumable, 11);
  const ok = feed.watch({ all: true }, () => {}, 11);
  assert.equal(ok.resumed, true);
  assert.deepEqual(
    ok.reader.queue.map((b) => [b.revision, b.changes.length]),
    [
      [12, 1],
      [13, 1],
      [14, 2],
    ],
  );
  assert.equal(feed.watch({ all: true }, () => {}, 10).resumed, false, 'older than the history');
  assert.equal(feed.watch({ all: true }, () => {}, 15).resumed, false, 'newer than this node');
  // A zone state change is not a wire change: no batch for it, but zone listeners hear it.
  let heard = 0;
  feed.onZones(() => heard++);
  view.setZoneState('az1', 'stale');
  assert.equal(heard, 1);
  assert.ok(feed.drain(ok.reader).every((b) => b.changes.every((c) => c.kind !== 'zoneState')));
  feed.close();
});

test('a reader whose queue would overflow loses its backlog once and is woken', () => {
  const view = new StaticView({ zones: ['az1'] });
  const feed = new ChangeFeed(view, { historyChangesMax: 100, queueChangesMax: 3 });
  let wakes = 0;
  const { reader } = feed.watch(
    { keep: (c) => c.kind === 'instance' && c.instance.service === 'orders' },
    () => wakes++,
  );
  put(view, 1, 'pay');
  assert.equal(reader.queue.length, 0, 'filtered out');
  for (let i = 1; i <= 3; i++) put(view, i);
  assert.equal(reader.queuedChanges, 3);
  assert.equal(wakes, 1, 'woken when the queue became non-empty');
  put(view, 4);
  assert.equal(reader.overflowed, true);
  assert.equal(reader.queue.length, 0);
  assert.equal(wakes, 2);
  put(view, 5);
  assert.equal(reader.queue.length, 0, 'nothing queued until drained');
  feed.drain(reader);
  assert.equal(reader.overflowed, false);
  // One batch larger than the bound still goes to an empty queue.
  view.batch(() => {
    for (let i = 10; i < 20; i++) put(view, i);
  });
  assert.equal(reader.queuedChanges, 10);
  assert.equal(reader.overflowed, false);
  feed.close();
});

test('deltas are packed up to a size and split inside a revision only when it alone is too large', () => {
  const view = new StaticView({ zones: ['az1'] });
  const feed = new ChangeFeed(view, { historyChangesMax: 100, queueChangesMax: 100 });
  const { reader } = feed.watch({ all: true }, () => {});
  const first = view.revision + 1;
  put(view, 1);
  view.batch(() => {
    for (let i = 2; i <= 5; i++) put(view, i);
  });
  const batches = feed.drain(reader);
  const oneSize = JSON.stringify(batches[0]!.changes[0]).length;
  const out = encodeDeltas(new ChangeEncoder(), '"s"', batches, oneSize * 2);
  const msgs = out.messages.map((m) => JSON.parse(m) as { revision: number; changes: unknown[] });
  assert.equal(out.revision, first + 1);
  assert.equal(
    msgs.reduce((n, m) => n + m.changes.length, 0),
    5,
  );
  assert.ok(msgs.length >= 3);
  // A message that ends inside revision first+1 claims only first (resuming replays that revision whole).
  for (const m of msgs.slice(0, -1)) assert.equal(m.revision, first);
  assert.equal(msgs.at(-1)!.revision, first + 1);
  feed.close();
});

test('an empty snapshot is one last part carrying the zone weights', () => {
  const cursor = new SnapshotCursor(7, [], [], [], [{ zone: 'az1', weight: 30 }]);
  assert.equal(cursor.done, false);
  const part = JSON.parse(cursor.next('"s"', 1000)) as Record<string, unknown>;
  assert.deepEqual(part, {
    type: 'snapshot',
    sub: 's',
    revision: 7,
    part: 0,
    last: true,
    namespaces: [],
    services: [],
    instances: [],
    zoneWeights: [{ zone: 'az1', weight: 30 }],
  });
  assert.equal(cursor.done, true);
});

test('revisions going backwards reset the history and resync every reader, without throwing', () => {
  const view = new StaticView({ zones: ['az1'], revision: 50 });
  let emit: ((revision: number, changes: readonly FederatedChange[]) => void) | null = null;
  const fake: FederatedView = Object.assign(Object.create(view) as FederatedView, {
    onChange: (l: (revision: number, changes: readonly FederatedChange[]) => void) => {
      emit = l;
      return () => {};
    },
  });
  const feed = new ChangeFeed(fake, { historyChangesMax: 100, queueChangesMax: 100 });
  const inst = view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.1', port: 80 });
  const { reader } = feed.watch({ all: true }, () => {});
  emit!(60, [{ kind: 'instance', action: 'put', revision: 60, instance: inst }]);
  assert.equal(reader.queue.length, 1);
  emit!(10, [{ kind: 'instance', action: 'put', revision: 10, instance: inst }]);
  assert.equal(reader.overflowed, true);
  assert.equal(feed.oldestResumable, 10);
  assert.equal(feed.watch({ all: true }, () => {}, 55).resumed, false);
  assert.equal(feed.watch({ all: true }, () => {}, 10).resumed, true);
});
