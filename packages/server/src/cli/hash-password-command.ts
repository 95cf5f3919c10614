import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DEFAULT_SCRYPT_COST, hashPassword } from '../auth/password-hash.js';
import { formatTokenHash, generateToken } from '../auth/static-tokens.js';

const HELP = `Usage: cairn hash-password [--token [--generate]] [--cost <log2 N>]

Prints what an auth file stores instead of a secret, so plain passwords and tokens never sit in it.
The secret is read from stdin (its first line); on a terminal it is asked for, without echo.

  (no option)        a user's password -> scrypt hash, for users[].passwordHash
  --token            a static token -> sha256:<hex>, for tokens[].tokenHash
  --token --generate make a new random token; prints {"token", "tokenHash"} (hand the token to the client)
  --cost <n>         scrypt log2 N for passwords, 10-20 (default ${DEFAULT_SCRYPT_COST.logN})

Examples:
  cairn hash-password                       # asks for the password twice
  printf '%s' "$PASSWORD" | cairn hash-password
  cairn hash-password --token --generate
`;

export interface CommandIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** `cairn hash-password`: hashes for the auth file (see auth/auth-config.ts). */
export async function hashPasswordCommand(argv: readonly string[], io: CommandIo = process): Promise<number> {
  let values: { token?: boolean; generate?: boolean; cost?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        token: { type: 'boolean' },
        generate: { type: 'boolean' },
        cost: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr.write(`cairn hash-password: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (values.generate && !values.token) {
    io.stderr.write('cairn hash-password: --generate makes tokens: give --token too\n');
    return 2;
  }
  if (values.token && values.generate) {
    const token = generateToken();
    io.stdout.write(`${JSON.stringify({ token, tokenHash: formatTokenHash(token) })}\n`);
    return 0;
  }
  const logN = values.cost === undefined ? DEFAULT_SCRYPT_COST.logN : Number(values.cost);
  if (!Number.isInteger(logN) || logN < 10 || logN > 20) {
    io.stderr.write(`cairn hash-password: --cost must be an integer from 10 to 20, got '${values.cost}'\n`);
    return 2;
  }
  const what = values.token ? 'token' : 'password';
  const secret = io.stdin.isTTY ? await askTwice(io, what) : await firstLine(io.stdin);
  if (secret === null) {
    io.stderr.write(`cairn hash-password: the two ${what}s differ\n`);
    return 2;
  }
  if (secret === '') {
    io.stderr.write(`cairn hash-password: no ${what} given (stdin was empty)\n`);
    return 2;
  }
  if (values.token && secret.length < 16) {
    io.stderr.write('cairn hash-password: a token must be at least 16 characters (try --generate)\n');
    return 2;
  }
  const out = values.token ? formatTokenHash(secret) : await hashPassword(secret, { ...DEFAULT_SCRYPT_COST, logN });
  io.stdout.write(`${out}\n`);
  return 0;
}

/** The first line of a piped stdin, without its line ending. */
async function firstLine(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(b);
    bytes += b.length;
    if (b.includes(10) || bytes > 64 * 1024) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.search(/\r?\n/);
  return end >= 0 ? text.slice(0, end) : text;
}

/** Asks on the terminal, without echo, twice; null when the answers differ. */
async function askTwice(io: CommandIo, what: string): Promise<string | null> {
  const first = await askHidden(io, `${what[0]?.toUpperCase()}${what.slice(1)}: `);
  const second = await askHidden(io, `Again: `);
  return first === second ? first : null;
}

function askHidden(io: CommandIo, prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
    let muted = false;
    // readline echoes what is typed through _writeToOutput; the prompt is written, the answer is not.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (!muted) io.stderr.write(s);
    };
    rl.question(prompt, (answer) => {
      io.stderr.write('\n');
      rl.close();
      resolve(answer);
    });
    muted = true;
  });
}
