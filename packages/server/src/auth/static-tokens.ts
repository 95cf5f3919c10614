import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Static tokens (for services, scrapers, CI) are long random strings, so a fast hash is enough to
 * keep them out of the auth file: it stores `sha256:<hex>`. A presented token is compared with every
 * stored digest, all of them every time, so timing says nothing about which one (if any) it matched.
 */

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function formatTokenHash(token: string): string {
  return `sha256:${tokenDigest(token).toString('hex')}`;
}

/** `sha256:<64 hex>` (validated by the auth file's schema) to its digest. */
export function parseTokenHash(hash: string): Buffer {
  return Buffer.from(hash.slice('sha256:'.length), 'hex');
}

/** A new random token: 32 bytes, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The entry whose digest matches `token`, after comparing against every entry. */
export function matchToken<T extends { readonly digest: Buffer }>(entries: readonly T[], token: string): T | undefined {
  const digest = tokenDigest(token);
  let found: T | undefined;
  for (const e of entries) {
    if (timingSafeEqual(e.digest, digest) && found === undefined) found = e;
  }
  return found;
}
