import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CairnError } from '../../src/errors.js';
import { federationHelp, loadFederationConfig } from '../../src/federation/config/federation-config.js';

const ZONE = ['--zone', 'az1=http://127.0.0.1:8848'];

function fields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CairnError, `expected a CairnError, got ${String(err)}`);
    assert.equal(err.code, 'VALIDATION_FAILED');
    return err.fields.map((f) => `${f.field}: ${f.message}`).concat(err.fields.length === 0 ? [err.message] : []);
  }
  assert.fail('expected the configuration to be refused');
}

describe('federation config', () => {
  test('defaults', () => {
    const c = loadFederationConfig(ZONE, {});
    assert.equal(c.listen, '0.0.0.0:8900');
    assert.equal(c.dns, '0.0.0.0:8600');
    assert.equal(c.dnsDomain, 'cairn');
    assert.equal(c.dnsTtlS, 1);
    assert.equal(c.policy, 'keep');
    assert.equal(c.dropAfterMs, 30_000);
    assert.equal(c.merge, 'flat');
    assert.equal(c.overprovisioning, 1.4);
    assert.equal(c.nodeId, undefined);
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.zones, [{ zone: 'az1', replicas: ['http://127.0.0.1:8848'] }]);
  });

  test('flags: repeated --zone, several replicas, --dns off, every setting', () => {
    const c = loadFederationConfig(
      [
        '--zone',
        'az1=http://10.0.0.1:8848, http://10.0.0.2:8848/',
        '--zone',
        'az2=https://reg.example:9848',
        '--listen',
        '127.0.0.1:0',
        '--dns',
        'off',
        '--policy',
        'drop',
        '--drop-after-ms',
        '5000',
        '--merge',
        'locality',
        '--overprovisioning',
        '2',
        '--node-id',
        'fed-1',
        '--dns-domain',
        'example.cairn',
        '--dns-ttl-s',
        '0',
        '--ready-grace-ms',
        '100',
        '--log-level',
        'warn',
      ],
      {},
    );
    assert.deepEqual(c.zones, [
      { zone: 'az1', replicas: ['http://10.0.0.1:8848', 'http://10.0.0.2:8848'] },
      { zone: 'az2', replicas: ['https://reg.example:9848'] },
    ]);
    assert.equal(c.dns, null);
    assert.equal(c.policy, 'drop');
    assert.equal(c.dropAfterMs, 5000);
    assert.equal(c.merge, 'locality');
    assert.equal(c.overprovisioning, 2);
    assert.equal(c.nodeId, 'fed-1');
    assert.equal(c.dnsDomain, 'example.cairn');
    assert.equal(c.dnsTtlS, 0);
    assert.equal(c.readyGraceMs, 100);
  });

  test('env: CAIRN_ZONES separates zones with ;, flags win over env, env over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-fedcfg-'));
    try {
      const file = join(dir, 'fed.json');
      writeFileSync(
        file,
        JSON.stringify({ zones: { az9: ['http://h9:1'] }, merge: 'locality', policy: 'drop', listen: '1.2.3.4:1' }),
      );
      const env = { CAIRN_ZONES: 'az1=http://h1:1,http://h2:1; az2=http://h3:1', CAIRN_POLICY: 'keep' };
      const c = loadFederationConfig(['--config', file, '--listen', '127.0.0.1:9'], env);
      assert.deepEqual(
        c.zones.map((z) => [z.zone, z.replicas.length]),
        [
          ['az1', 2],
          ['az2', 1],
        ],
      );
      assert.equal(c.policy, 'keep', 'env over file');
      assert.equal(c.merge, 'locality', 'file over default');
      assert.equal(c.listen, '127.0.0.1:9', 'flag over file');
      const fromFile = loadFederationConfig([], { CAIRN_CONFIG: file });
      assert.deepEqual(fromFile.zones, [{ zone: 'az9', replicas: ['http://h9:1'] }]);
      // The list form of a config file.
      writeFileSync(file, JSON.stringify({ zones: [{ zone: 'az1', replicas: ['http://a:1', 'http://b:1'] }] }));
      assert.equal(loadFederationConfig(['--config', file], {}).zones[0]!.replicas.length, 2);
      writeFileSync(file, JSON.stringify({ zone: 'az1' }));
      assert.match(fields(() => loadFederationConfig(['--config', file], {})).join('\n'), /zone: unknown setting/);
      writeFileSync(file, '{nope');
      assert.match(fields(() => loadFederationConfig(['--config', file], {})).join('\n'), /is not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('clear errors for bad zones', () => {
    const bad = (spec: string[], re: RegExp) => {
      const got = fields(() => loadFederationConfig(spec, {})).join('\n');
      assert.match(got, re, `for ${spec.join(' ')}: ${got}`);
    };
    bad([], /--zone: give at least one zone/);
    bad(['--zone', 'http://h:1'], /must be zone=http/);
    bad(['--zone', 'az1=h:1'], /'h:1' must be a URL like http:\/\/host:port \(the scheme is required\)/);
    bad(['--zone', 'az1=ftp://h:1'], /only http and https/);
    bad(['--zone', 'az1=http://h:1/v1'], /without a path/);
    bad(['--zone', 'az1=http://user:pw@h:1'], /credentials/);
    bad(['--zone', 'az1='], /has no replica URLs/);
    bad(['--zone', 'AZ1=http://h:1'], /zone name 'AZ1' must be lower-case/);
    bad(['--zone', 'az1=http://h:1', '--zone', 'az1=http://h:2'], /zone 'az1' is given twice/);
    bad(['--zone', 'az1=http://h:1,http://h:1'], /lists http:\/\/h:1 twice/);
    bad(['--zone', 'az1=http://h:1', '--zone', 'az2=http://h:1/'], /in both zone 'az1' and 'az2'/);
  });

  test('clear errors for other settings, named as flags', () => {
    const got = fields(() =>
      loadFederationConfig(
        [
          ...ZONE,
          '--listen',
          'nope',
          '--dns',
          'x',
          '--policy',
          'maybe',
          '--merge',
          'round',
          '--dns-ttl-s',
          '5',
          '--overprovisioning',
          '0.5',
          '--drop-after-ms=-1',
        ],
        {},
      ),
    ).join('\n');
    for (const flag of [
      '--listen',
      '--dns',
      '--policy',
      '--merge',
      '--dns-ttl-s',
      '--overprovisioning',
      '--drop-after-ms',
    ]) {
      assert.match(got, new RegExp(`^${flag}: `, 'm'), `${flag} named in:\n${got}`);
    }
    assert.match(fields(() => loadFederationConfig(['--bogus'], {})).join('\n'), /Unknown option '--bogus'/);
  });

  test('help lists every flag and its env var', () => {
    const help = federationHelp();
    for (const s of ['--zone', 'CAIRN_ZONES', '--policy', 'CAIRN_POLICY', '--dns', '--merge', '--drop-after-ms']) {
      assert.ok(help.includes(s), s);
    }
  });
});
