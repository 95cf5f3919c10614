// The auth file: what is accepted, and the clear refusal of everything else, naming the field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAuthFile, parseAuthConfig } from '../../src/auth/auth-config.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { formatTokenHash } from '../../src/auth/static-tokens.js';
import { loadServerConfig } from '../../src/config/server-config.js';
import { CairnError } from '../../src/errors.js';

const SECRET = 'a-token-secret-of-more-than-32-characters';
const dir = mkdtempSync(join(tmpdir(), 'cairn-auth-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fieldsOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CairnError, String(err));
    assert.equal(err.code, 'VALIDATION_FAILED');
    return [...err.fields];
  }
  assert.fail('expected VALIDATION_FAILED');
}

const parse = (raw: unknown) => parseAuthConfig(raw, { source: 'test.json', baseDir: dir });

describe('auth file', () => {
  it('accepts a full file and applies the defaults', async () => {
    const passwordHash = await hashPassword('pw-pw-pw-pw', { logN: 10, r: 8, p: 1 });
    const c = parse({
      tokenSecret: SECRET,
      users: [{ username: 'alice', passwordHash, roles: [{ namespace: '*', role: 'admin' }] }],
      tokens: [
        {
          name: 'ci',
          tokenHash: formatTokenHash('ci-token-0123456789'),
          roles: [{ namespace: 'public', role: 'write' }],
        },
      ],
    });
    assert.equal(c.tokenTtlS, 18_000);
    assert.equal(c.metricsAuth, false);
    assert.deepEqual(c.loginRateLimit, { max: 10, windowMs: 60_000 });
    assert.deepEqual(c.anonymous, []);
    assert.equal(c.users.get('alice')?.roles[0]?.role, 'admin');
    assert.equal(c.tokens[0]?.name, 'ci');
    assert.deepEqual(c.warnings, []);
  });

  it('reads the token secret from a file next to the auth file', () => {
    writeFileSync(join(dir, 'secret.txt'), `${SECRET}\n`);
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ tokenSecretFile: 'secret.txt', users: [], tokens: [] }));
    const c = loadAuthFile(join(dir, 'auth.json'));
    assert.equal(new TextDecoder().decode(c.tokenSecret), SECRET);
    writeFileSync(join(dir, 'short.txt'), 'short\n');
    writeFileSync(join(dir, 'auth2.json'), JSON.stringify({ tokenSecretFile: 'short.txt' }));
    assert.match(fieldsOf(() => loadAuthFile(join(dir, 'auth2.json')))[0]?.message ?? '', /at least 32 characters/);
  });

  it('names every problem with its field', () => {
    const fields = fieldsOf(() =>
      parse({
        tokenSecret: 'short',
        tokenTtlS: 0,
        users: [
          { username: 'bob', passwordHash: 'plain-password', roles: [] },
          {
            username: 'bob',
            passwordHash: 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
            roles: [],
          },
        ],
        tokens: [{ name: 'x', roles: [{ namespace: 'public', role: 'owner' }] }],
        anonymous: [{ namespace: '../etc', role: 'read' }],
        colour: 'blue',
      }),
    );
    const at = (field: string) => fields.filter((f) => f.field === field).map((f) => f.message);
    assert.match(at('auth.tokenSecret').join(), /at least 32 characters/);
    assert.ok(at('auth.tokenTtlS').length > 0);
    assert.match(at('auth.users.0.passwordHash').join(), /cairn hash-password/);
    assert.ok(at('auth.tokens.0.roles.0.role').length > 0);
    assert.ok(at('auth.anonymous.0.namespace').length > 0);
    assert.ok(
      fields.some((f) => /colour/.test(f.message)),
      'unknown keys are refused (typos do not pass silently)',
    );
  });

  it('refuses duplicate names and tokens without exactly one secret (once the rest is valid)', () => {
    const hash = 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const fields = fieldsOf(() =>
      parse({
        tokenSecret: SECRET,
        users: [
          { username: 'bob', passwordHash: hash, roles: [] },
          { username: 'bob', passwordHash: hash, roles: [] },
        ],
      }),
    );
    assert.deepEqual(fields, [{ field: 'auth.users.1', message: "user 'bob' appears twice" }]);
    const token = fieldsOf(() => parse({ tokenSecret: SECRET, tokens: [{ name: 'x', roles: [] }] }));
    assert.deepEqual(token, [{ field: 'auth.tokens.0', message: 'give exactly one of tokenHash and token' }]);
  });

  it('refuses a secret given twice or not at all, and scrypt costs out of bounds', () => {
    assert.match(fieldsOf(() => parse({}))[0]?.message ?? '', /exactly one of tokenSecret and tokenSecretFile/);
    assert.match(fieldsOf(() => parse({ tokenSecret: SECRET, tokenSecretFile: 'x' }))[0]?.message ?? '', /exactly one/);
    const huge = 'scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const fields = fieldsOf(() =>
      parse({ tokenSecret: SECRET, users: [{ username: 'a', passwordHash: huge, roles: [] }] }),
    );
    assert.match(fields[0]?.message ?? '', /log2 N must be 10-20/);
  });

  it('warns about plain tokens and anonymous writers', () => {
    const c = parse({
      tokenSecret: SECRET,
      tokens: [{ name: 'p', token: 'plain-token-0123456789', roles: [] }],
      anonymous: [{ namespace: 'public', role: 'write' }],
    });
    assert.equal(c.warnings.length, 2);
    assert.match(c.warnings[0] ?? '', /plain text/);
    assert.match(c.warnings[1] ?? '', /anonymous callers may write/);
  });

  it('a server config loads the file given with --auth-file, and reports its problems', () => {
    writeFileSync(join(dir, 'server-auth.json'), JSON.stringify({ tokenSecret: SECRET }));
    const base = ['--data-dir', join(dir, 'data')];
    const on = loadServerConfig([...base, '--auth-file', join(dir, 'server-auth.json')], {});
    assert.ok(on.auth);
    assert.equal(loadServerConfig(base, {}).auth, null);
    const fromEnv = loadServerConfig(base, { CAIRN_AUTH_FILE: join(dir, 'server-auth.json') });
    assert.ok(fromEnv.auth);
    const missing = fieldsOf(() => loadServerConfig([...base, '--auth-file', join(dir, 'nope.json')], {}));
    assert.equal(missing[0]?.field, 'authFile');
    assert.match(missing[0]?.message ?? '', /cannot read/);
  });
});
