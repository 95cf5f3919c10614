import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Slow password hashes (scrypt, a per-user random salt), stored as
 * `scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<hash, base64url>` so the cost can be raised later
 * without invalidating stored hashes. Made by `cairn hash-password`; the auth file never holds a
 * plain password.
 */

export interface ScryptCost {
  /** log2 of scrypt's N (CPU and memory cost). */
  readonly logN: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** 32 MiB and roughly 50-100 ms per hash on a server core. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { logN: 15, r: 8, p: 1 };

/** Bounds on the costs a stored hash may ask for, so a bad auth file cannot exhaust memory. */
const COST_BOUNDS = { logNMin: 10, logNMax: 20, rMax: 32, pMax: 16 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt';

export interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Parses a stored hash; throws an Error saying what is wrong with it. */
export function parsePasswordHash(encoded: string): ParsedHash {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) {
    throw new Error('must look like scrypt$15$8$1$<salt>$<hash> (make one with `cairn hash-password`)');
  }
  const [, logNText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  const num = (t: string) => (/^\d{1,3}$/.test(t) ? Number(t) : Number.NaN);
  const cost = { logN: num(logNText), r: num(rText), p: num(pText) };
  if (!(cost.logN >= COST_BOUNDS.logNMin && cost.logN <= COST_BOUNDS.logNMax)) {
    throw new Error(`scrypt log2 N must be ${COST_BOUNDS.logNMin}-${COST_BOUNDS.logNMax}`);
  }
  if (!(cost.r >= 1 && cost.r <= COST_BOUNDS.rMax)) throw new Error(`scrypt r must be 1-${COST_BOUNDS.rMax}`);
  if (!(cost.p >= 1 && cost.p <= COST_BOUNDS.pMax)) throw new Error(`scrypt p must be 1-${COST_BOUNDS.pMax}`);
  const salt = Buffer.from(saltText, 'base64url');
  const hash = Buffer.from(hashText, 'base64url');
  if (salt.length < 8) throw new Error('the salt is too short (at least 8 bytes)');
  if (hash.length < 16 || hash.length > 64) throw new Error('the hash must be 16-64 bytes');
  return { cost, salt, hash };
}

/** A new hash of `password` with a fresh random salt. */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, cost, KEY_BYTES);
  return [PREFIX, cost.logN, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Whether `password` matches a parsed hash; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: ParsedHash): Promise<boolean> {
  const candidate = await derive(password, stored.salt, stored.cost, stored.hash.length);
  return timingSafeEqual(candidate, stored.hash);
}

function derive(password: string, salt: Buffer, cost: ScryptCost, keyBytes: number): Promise<Buffer> {
  const N = 2 ** cost.logN;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
