// The zone-traffic page's preview: what each zone's share of a service becomes when a zone weight
// changes, computed in the browser from the counts the federation already reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharePreviewModule } from './helpers/server-modules.js';

const { previewShares } = await sharePreviewModule();

const count = (total: number, healthy: number, serving: number, share: number) => ({ total, healthy, serving, share });
const weights = (entries: Record<string, number>) => new Map(Object.entries(entries));
const rounded = (shares: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(shares).map(([z, s]) => [z, Math.round(s * 1000) / 1000]));

test('draining a zone moves its whole share to the others', () => {
  const zones = { az1: count(5, 5, 5, 0.5), az2: count(5, 5, 5, 0.5) };
  const p = previewShares(zones, weights({ az1: 100, az2: 100 }), weights({ az1: 0, az2: 100 }));
  assert.deepEqual(rounded(p.shares), { az1: 0, az2: 1 });
  assert.equal(p.estimated, false);
});

test('a 30/70 shift scales each zone by its weight, exactly, while both zones serve', () => {
  // az1 holds 40% at full weight (2 of 5 serving instances); at 30 it holds .4x30 / (.4x30 + .6x100).
  const zones = { az1: count(3, 3, 2, 0.4), az2: count(3, 3, 3, 0.6) };
  const p = previewShares(zones, weights({ az1: 100, az2: 100 }), weights({ az1: 30, az2: 70 }));
  assert.deepEqual(rounded(p.shares), { az1: 0.222, az2: 0.778 });
  assert.equal(p.estimated, false);
});

test('restoring a drained zone estimates its share from its healthy instances, and says so', () => {
  const zones = { az1: count(4, 4, 0, 0), az2: count(4, 4, 4, 1) };
  const p = previewShares(zones, weights({ az1: 0, az2: 100 }), weights({ az1: 100, az2: 100 }));
  assert.deepEqual(rounded(p.shares), { az1: 0.5, az2: 0.5 });
  assert.equal(p.estimated, true);
});

test('zones without a stored weight count as 100; nothing serving gives no shares', () => {
  const zones = { az1: count(2, 0, 0, 0), az2: count(2, 0, 0, 0) };
  const p = previewShares(zones, new Map(), weights({ az1: 50 }));
  assert.deepEqual(p.shares, { az1: 0, az2: 0 });
});
