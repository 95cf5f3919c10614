// The SDK against a zone with authentication on: with a token it registers and watches; without
// one, or with a token that lacks the role, it is refused at once with an error that says why.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CairnSdkError, connect } from '../../src/index.js';
import { type ZoneCluster, zoneCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/instances.js';

const WRITER = 'sdk-writer-token-0123456789';
const READER = 'sdk-reader-token-0123456789';
const sha256 = (t: string) => `sha256:${createHash('sha256').update(t).digest('hex')}`;

describe('the SDK against a registry with authentication on', () => {
  let zone: ZoneCluster;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-sdk-auth-'));
    writeFileSync(
      join(dir, 'auth.json'),
      JSON.stringify({
        tokenSecret: 'sdk-test-token-secret-0123456789-abcdef',
        tokens: [
          { name: 'writer', tokenHash: sha256(WRITER), roles: [{ namespace: 'public', role: 'write' }] },
          { name: 'reader', tokenHash: sha256(READER), roles: [{ namespace: 'public', role: 'read' }] },
        ],
      }),
    );
    zone = await zoneCluster.startZoneCluster({
      zone: 'az1',
      replicas: 1,
      extraArgs: ['--auth-file', join(dir, 'auth.json')],
    });
  });
  after(async () => {
    await zone?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers and watches with a token', async (t) => {
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, token: WRITER });
    t.after(() => owner.close());
    const watcher = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, token: READER });
    t.after(() => watcher.close());
    const view = watcher.watch('billing');
    const reg = await owner.register({ service: 'billing', port: 8080, ip: '127.0.0.1' });
    assert.equal(reg.instance.service, 'billing');
    await waitFor('the watcher to see it', () => view.instances.length === 1);
    // The token also reaches the environment variable path.
    const fromEnv = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, env: { CAIRN_TOKEN: READER } });
    await fromEnv.close();
  });

  it('without a token, connect() is refused with UNAUTHENTICATED and says what to do', async () => {
    const err = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, env: {} }).then(
      () => assert.fail('connect should be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CairnSdkError, String(err));
    assert.equal(err.code, 'REGISTRY_REFUSED');
    assert.equal(err.registryCode, 'UNAUTHENTICATED');
    assert.match(err.message, /CAIRN_TOKEN/);
    const wrong = await connect({
      zone: 'az1',
      servers: zone.urls,
      cacheDir: null,
      token: 'not-a-valid-token-000',
    }).then(
      () => assert.fail('connect should be refused'),
      (e: unknown) => e,
    );
    assert.equal((wrong as CairnSdkError).registryCode, 'UNAUTHENTICATED');
  });

  it('a token without the role is refused where it lacks it: registration, or another namespace', async (t) => {
    const reader = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, token: READER });
    t.after(() => reader.close());
    const started = Date.now();
    const refused = await reader.register({ service: 'billing', port: 8081, ip: '127.0.0.1' }).then(
      () => assert.fail('a reader cannot register'),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof CairnSdkError);
    assert.equal(refused.registryCode, 'FORBIDDEN');
    assert.ok(Date.now() - started < 5000, 'refused at once, not after the request timeout');

    const writer = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, token: WRITER });
    t.after(() => writer.close());
    const elsewhere = await writer
      .register({ service: 'billing', port: 8082, ip: '127.0.0.1', namespace: 'other' })
      .then(
        () => assert.fail('the writer may write in public only'),
        (e: unknown) => e,
      );
    assert.equal((elsewhere as CairnSdkError).registryCode, 'FORBIDDEN');
    assert.match((elsewhere as CairnSdkError).message, /may not write in namespace 'other'/);
  });
});
