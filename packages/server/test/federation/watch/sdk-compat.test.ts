// The client SDK watching a federation: its parser and its watch stream (from @cairn/client-sdk's
// build, loaded at run time since the SDK depends on this package, not the other way round) must
// accept everything the federation watch sends, ignore `zones`, and resume across reconnects.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createFederationWatchApi } from '../../../src/federation/watch/federation-watch-plugin.js';
import { StaticView } from '../../helpers/static-view.js';
import { startFederationTestApp } from './federation-test-app.js';
import { type Msg, WatchClient } from './watch-client.js';

const SDK_DIST = new URL('../../../../../client-sdk/dist/src/', import.meta.url);
const sdkBuilt = existsSync(fileURLToPath(new URL('transport/watch-stream.js', SDK_DIST)));

interface SdkMessages {
  parseWatchMessage(text: string): Msg | null;
}

async function sdk<T>(path: string): Promise<T> {
  return (await import(new URL(path, SDK_DIST).href)) as T;
}

function seededView(): StaticView {
  const view = new StaticView({ zones: ['az1', 'az2'] });
  view.putService({ service: 'orders' });
  view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.1', port: 8080 });
  view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.1', port: 8080, weight: 300 });
  return view;
}

test('the SDK parser accepts every federation watch message and ignores zones', { skip: !sdkBuilt }, async () => {
  const { parseWatchMessage } = await sdk<SdkMessages>('wire/messages.js');
  const view = seededView();
  const app = await startFederationTestApp(view, [createFederationWatchApi({ sweepMs: 20, progressIntervalMs: 50 })]);
  const c = await WatchClient.open(app.wsUrl);
  try {
    c.send({ type: 'subscribe', sub: 'all', all: true });
    c.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }] });
    await c.snapshot('all');
    view.putNamespace({ id: 'dev', name: 'dev', description: '' });
    view.putService({ service: 'pay', metadata: { k: 'v' } });
    view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.2', port: 8080, metadata: { a: 'b' } });
    view.setZoneWeight('az1', 0);
    view.setZoneState('az2', 'stale');
    view.deleteInstance('az1', '10.0.0.2#8080#DEFAULT#DEFAULT_GROUP@@orders');
    view.deleteService({ service: 'pay' });
    c.send({ type: 'unsubscribe', sub: 'all' });
    c.send({ type: 'unsubscribe', sub: 'gone' });
    await c.nextOfType('unsubscribed');
    await c.nextOfType('error');
    await c.nextOfType('progress');
    const seen = new Set<string>();
    for (const raw of c.raw) {
      const type = (JSON.parse(raw) as Msg).type as string;
      seen.add(type);
      const parsed = parseWatchMessage(raw);
      if (type === 'zones') assert.equal(parsed, null, 'zones is a type the SDK does not know: ignored');
      else assert.equal(parsed?.type, type, `the SDK parses ${type}`);
    }
    for (const t of ['hello', 'subscribed', 'zones', 'snapshot', 'delta', 'progress', 'unsubscribed', 'error']) {
      assert.ok(seen.has(t), `sent a ${t} message`);
    }
  } finally {
    c.close();
    await app.close();
  }
});

/** The part of the SDK's ServiceView that its WatchStream drives. */
class RecordingView {
  readonly ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };
  readonly instances = new Map<string, Msg>();
  revision = 0;
  snapshots = 0;
  resumes = 0;
  private waiters: (() => void)[] = [];

  snapshot(_source: string, instances: Msg[], revision: number): void {
    this.instances.clear();
    for (const i of instances) this.instances.set(`${i.zone}/${i.id}`, i);
    this.snapshots++;
    this.at(revision);
  }
  changes(_source: string, list: { action: string; instance: Msg }[], revision: number): void {
    for (const { action, instance } of list) {
      if (action === 'put') this.instances.set(`${instance.zone}/${instance.id}`, instance);
      else this.instances.delete(`${instance.zone}/${instance.id}`);
    }
    this.at(revision);
  }
  progress(_source: string, revision: number): void {
    this.at(revision);
  }
  resumed(_source: string, revision: number): void {
    this.resumes++;
    this.at(revision);
  }
  resumeRevision(): number | undefined {
    return this.revision > 0 ? this.revision : undefined;
  }
  lost(): void {}

  async until(ok: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the SDK view');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private at(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

interface SdkWatchStream {
  add(view: RecordingView): void;
  start(): void;
  moveAway(reason: string): void;
  close(): Promise<void>;
}

test(
  "the SDK's watch stream follows a federation: snapshot, deltas, resume after a reconnect",
  { skip: !sdkBuilt },
  async () => {
    const { WatchStream } = await sdk<{ WatchStream: new (o: object) => SdkWatchStream }>('transport/watch-stream.js');
    const { ReplicaSet } = await sdk<{ ReplicaSet: new (urls: string[]) => object }>('transport/replica-set.js');
    const { systemClock } = await sdk<{ systemClock: object }>('clock.js');
    const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const view = seededView();
    const app = await startFederationTestApp(view, [createFederationWatchApi({ sweepMs: 20, progressIntervalMs: 50 })]);
    const stream = new WatchStream({
      source: 'federation',
      replicas: new ReplicaSet([app.url]),
      clock: systemClock,
      logger: silent,
      headers: {},
      connectTimeoutMs: 3000,
      silenceMs: 10_000,
    });
    const rec = new RecordingView();
    try {
      stream.add(rec);
      stream.start();
      await rec.until(() => rec.snapshots === 1 && rec.instances.size === 2);
      const az2 = [...rec.instances.values()].find((i) => i.zone === 'az2')!;
      assert.equal(az2.weight, 300);

      view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.2', port: 8080 });
      await rec.until(() => rec.instances.size === 3 && rec.revision === view.revision);

      // Move to "another replica" (the same node): the stream resumes from its revision, no snapshot.
      stream.moveAway('test');
      await new Promise((r) => setTimeout(r, 50));
      view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.2', port: 8080 });
      await rec.until(() => rec.instances.size === 4 && rec.resumes === 1);
      assert.equal(rec.snapshots, 1, 'resumed from the federation history, no second snapshot');
    } finally {
      await stream.close();
      await app.close();
    }
  },
);
