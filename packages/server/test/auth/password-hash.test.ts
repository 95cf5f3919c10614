// Password hashes, static token hashes, and the hash-password command that makes them.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../src/auth/password-hash.js';
import { formatTokenHash, matchToken, parseTokenHash, tokenDigest } from '../../src/auth/static-tokens.js';
import { hashPasswordCommand } from '../../src/cli/hash-password-command.js';

const CHEAP = { logN: 10, r: 8, p: 1 };

function sink(): Writable & { text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return Object.assign(w, { text: () => Buffer.concat(chunks).toString() });
}

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const input = new PassThrough();
  input.end(stdin);
  const stdout = sink();
  const stderr = sink();
  const code = await hashPasswordCommand(argv, { stdin: input, stdout, stderr });
  return { code, out: stdout.text(), err: stderr.text() };
}

describe('password hashes', () => {
  it('verifies the password it was made from, and nothing else; each hash has its own salt', async () => {
    const a = await hashPassword('correct horse', CHEAP);
    const b = await hashPassword('correct horse', CHEAP);
    assert.notEqual(a, b, 'a fresh salt every time');
    assert.match(a, /^scrypt\$10\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(await verifyPassword('correct horse', parsePasswordHash(a)), true);
    assert.equal(await verifyPassword('correct horse', parsePasswordHash(b)), true);
    assert.equal(await verifyPassword('correct horsf', parsePasswordHash(a)), false);
    assert.equal(await verifyPassword('', parsePasswordHash(a)), false);
  });

  it('refuses malformed stored hashes with a reason', () => {
    assert.throws(() => parsePasswordHash('hunter2'), /cairn hash-password/);
    assert.throws(
      () => parsePasswordHash('scrypt$9$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      /10-20/,
    );
    assert.throws(() => parsePasswordHash('scrypt$15$8$1$AA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), /salt/);
  });

  it('static tokens are stored as sha256 and matched against every entry', () => {
    const entries = [
      { name: 'a', digest: tokenDigest('token-a-0123456789') },
      { name: 'b', digest: parseTokenHash(formatTokenHash('token-b-0123456789')) },
    ];
    assert.equal(matchToken(entries, 'token-b-0123456789')?.name, 'b');
    assert.equal(matchToken(entries, 'token-a-0123456789')?.name, 'a');
    assert.equal(matchToken(entries, 'token-c-0123456789'), undefined);
    assert.equal(matchToken([], 'x'), undefined);
  });
});

describe('cairn hash-password', () => {
  it('hashes a piped password (first line only)', async () => {
    const r = await run(['--cost', '10'], 's3cret-password\nignored\n');
    assert.equal(r.code, 0, r.err);
    const hash = r.out.trim();
    assert.equal(await verifyPassword('s3cret-password', parsePasswordHash(hash)), true);
  });

  it('hashes a token, or makes a new one', async () => {
    const r = await run(['--token'], 'my-long-static-token-123\n');
    assert.equal(r.out.trim(), formatTokenHash('my-long-static-token-123'));
    const g = await run(['--token', '--generate']);
    const made = JSON.parse(g.out) as { token: string; tokenHash: string };
    assert.equal(made.tokenHash, formatTokenHash(made.token));
    assert.ok(made.token.length >= 40);
  });

  it('refuses what it cannot hash, with a reason and exit code 2', async () => {
    assert.equal((await run([], '')).code, 2);
    assert.equal((await run(['--token'], 'short\n')).code, 2);
    assert.equal((await run(['--cost', '5'], 'pw\n')).code, 2);
    assert.equal((await run(['--generate'])).code, 2);
    const unknown = await run(['--nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /Usage: cairn hash-password/);
    assert.equal((await run(['--help'])).code, 0);
  });
});
