// The SDK against a registry that speaks only TLS: watch and session sockets over wss, fresh reads
// over https, with the CA given in the options or in CAIRN_TLS_CA.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as TestPkiModule from '../../../server/test/tls/test-pki.js';
import type * as TlsZoneModule from '../../../server/test/tls/tls-zone.js';
import { connect } from '../../src/index.js';
import { waitFor } from '../helpers/instances.js';

// The server package's TLS test helpers, compiled (one way of making certificates and TLS zones).
const serverTest = new URL('../../../../server/dist/test/tls/', import.meta.url);
const pkiModule: typeof TestPkiModule = await import(new URL('test-pki.js', serverTest).href);
const zoneModule: typeof TlsZoneModule = await import(new URL('tls-zone.js', serverTest).href);

describe('the SDK over TLS', { skip: pkiModule.SKIP_WITHOUT_OPENSSL, timeout: 60_000 }, () => {
  let pki: TestPkiModule.TestPki;
  let ca: TestPkiModule.TestCa;
  let zone: TlsZoneModule.TlsZone;
  let url: string;

  before(async () => {
    pki = pkiModule.createTestPki();
    ca = pki.newCa('zone-ca');
    zone = await zoneModule.startTlsZone({
      replicas: [{ id: 'n1', ...ca.issue('n1'), ca: ca.cert }],
      clientCa: ca.pem,
    });
    url = zone.replicas[0]!.url;
  });

  after(async () => {
    await zone?.stop();
    pki?.cleanup();
  });

  it('registers and watches over wss with the CA it is given', async (t) => {
    assert.match(url, /^https:\/\//);
    const registry = await connect({ zone: 'az1', servers: [url], tls: { ca: ca.pem }, cacheDir: null });
    t.after(() => registry.close());
    assert.equal(registry.connected, true, 'the watch socket is up');
    const view = registry.watch('orders');
    const reg = await registry.register({ service: 'orders', port: 8080, ip: '10.0.0.1' });
    assert.equal(reg.instance.zone, 'az1');
    await waitFor('the watcher to see the instance', () => view.instances.length === 1);
    assert.equal(registry.pick('orders')?.ip, '10.0.0.1');
    assert.equal(registry.stats().session?.open, true, 'the session socket is up');
  });

  it('reads the CA from the file CAIRN_TLS_CA names', async (t) => {
    const registry = await connect({ zone: 'az1', servers: [url], cacheDir: null, env: { CAIRN_TLS_CA: ca.cert } });
    t.after(() => registry.close());
    assert.equal(registry.connected, true);
  });

  it('does not connect to a registry whose CA it was not given', async (t) => {
    const registry = await connect({ zone: 'az1', servers: [url], cacheDir: null, connectTimeoutMs: 1000 });
    t.after(() => registry.close());
    assert.equal(registry.connected, false);
  });
});
