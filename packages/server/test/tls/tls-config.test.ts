// The TLS settings of `cairn server`: which combinations are accepted, and how bad files are reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadServerConfig } from '../../src/config/server-config.js';
import { CairnError } from '../../src/errors.js';
import { readTlsMaterial, TlsFileError } from '../../src/tls/tls-material.js';
import { loadZoneTls } from '../../src/tls/zone-tls.js';
import { CLI } from '../helpers/zone-cluster.js';
import { type CertFiles, createTestPki, SKIP_WITHOUT_OPENSSL, type TestCa, type TestPki } from './test-pki.js';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CairnError && err.code === 'VALIDATION_FAILED', String(err));
    return err.fields.map((f) => f.field);
  }
  assert.fail('expected VALIDATION_FAILED');
}

describe('TLS configuration', () => {
  it('reads the TLS flags and their CAIRN_ env vars', () => {
    const c = loadServerConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem', '--peer-mtls'], {});
    assert.deepEqual([c.tlsCert, c.tlsKey, c.tlsCa, c.peerMtls], ['c.pem', 'k.pem', 'ca.pem', true]);
    const e = loadServerConfig([], {
      CAIRN_TLS_CERT: 'c.pem',
      CAIRN_TLS_KEY: 'k.pem',
      CAIRN_TLS_CA: 'ca.pem',
      CAIRN_PEER_MTLS: 'true',
    });
    assert.deepEqual([e.tlsCert, e.tlsKey, e.tlsCa, e.peerMtls], ['c.pem', 'k.pem', 'ca.pem', true]);
    const plain = loadServerConfig([], {});
    assert.deepEqual([plain.tlsCert, plain.peerMtls], [undefined, false]);
  });

  it('refuses settings that only make sense together', () => {
    assert.deepEqual(
      fieldsOf(() => loadServerConfig(['--tls-cert', 'c.pem'], {})),
      ['tlsKey'],
    );
    assert.deepEqual(
      fieldsOf(() => loadServerConfig(['--tls-key', 'k.pem', '--tls-ca', 'ca.pem'], {})),
      ['tlsCert', 'tlsCa'],
    );
    assert.deepEqual(
      fieldsOf(() => loadServerConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--peer-mtls'], {})),
      ['peerMtls'],
    );
    assert.deepEqual(
      fieldsOf(() => loadServerConfig(['--peer-mtls'], {})),
      ['peerMtls'],
    );
  });
});

describe('TLS files', { skip: SKIP_WITHOUT_OPENSSL }, () => {
  let pki: TestPki;
  let ca: TestCa;
  let a: CertFiles;
  let b: CertFiles;
  const silent = pino({ level: 'silent' });

  before(() => {
    pki = createTestPki();
    ca = pki.newCa('zone-ca');
    a = ca.issue('a');
    b = ca.issue('b');
  });
  after(() => pki?.cleanup());

  function refusal(fn: () => unknown): TlsFileError {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof TlsFileError, String(err));
      return err;
    }
    assert.fail('expected a TlsFileError');
  }

  it('reads a certificate, its key and the CA, and describes the certificate', () => {
    const m = readTlsMaterial({ certFile: a.cert, keyFile: a.key, caFile: ca.cert });
    assert.match(m.subject, /CN=a/);
    assert.match(m.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(m.expired, false);
    assert.equal(readTlsMaterial({ certFile: a.cert, keyFile: a.key }, Date.now() + 5 * 86_400_000).expired, true);
  });

  it('names the file at fault and what is wrong with it', () => {
    const garbage = join(pki.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const missing = refusal(() => readTlsMaterial({ certFile: join(pki.dir, 'nope.pem'), keyFile: a.key }));
    assert.equal(missing.file, join(pki.dir, 'nope.pem'));
    assert.match(missing.message, /cannot be read/);
    const notPem = refusal(() => readTlsMaterial({ certFile: garbage, keyFile: a.key }));
    assert.equal(notPem.file, garbage);
    assert.match(notPem.message, /not a PEM certificate/);
    const mismatch = refusal(() => readTlsMaterial({ certFile: a.cert, keyFile: b.key }));
    assert.equal(mismatch.file, b.key);
    assert.match(mismatch.message, /does not belong to the certificate/);
    const badCa = refusal(() => readTlsMaterial({ certFile: a.cert, keyFile: a.key, caFile: garbage }));
    assert.match(badCa.message, /not a PEM CA bundle/);
  });

  it('is off without files, and gives replicas https and wss dialing with it', async () => {
    assert.equal(loadZoneTls({ peerMtls: false }, silent), null);
    const tls = loadZoneTls({ tlsCert: a.cert, tlsKey: a.key, tlsCa: ca.cert, peerMtls: false }, silent);
    assert.ok(tls);
    try {
      assert.equal(
        tls.dialer.url('10.0.0.1:8848', '/internal/v1/renewals'),
        'https://10.0.0.1:8848/internal/v1/renewals',
      );
      const dial = tls.dialer.peerTls?.();
      assert.ok(dial?.ca);
      assert.equal(dial.cert, undefined, 'no client certificate without mutual TLS');
      const server = tls.serverOptions();
      assert.equal(server.requestCert, false);
    } finally {
      await tls.close();
    }
  });

  it('stops `cairn server` at start with the file at fault', () => {
    const out = spawnSync(
      process.execPath,
      [CLI, 'server', '--tls-cert', a.cert, '--tls-key', b.key, '--data-dir', join(pki.dir, 'data')],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, /cairn server: TLS: .*b\.key: the key does not belong to the certificate/);
  });
});
