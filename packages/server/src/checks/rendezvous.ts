/**
 * Rendezvous (highest random weight) hashing: every replica that knows the same set of live replicas
 * picks the same owner for a key, with no coordination. When a replica leaves, only the keys it owned
 * move (each to its own runner-up); when one joins, it takes only the keys it now wins.
 *
 * One more property the checker relies on: the owner of a key among a set is also its owner among any
 * subset that still contains it. So a replica that always counts itself in never skips a key it would
 * win, whatever it believes about the others.
 */

/** cyrb53: a fast, well-mixed 53-bit string hash; identical on every replica (no process seed). */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The replica that owns `key` among `replicas` (undefined for none); ties go to the smaller id. */
export function rendezvousOwner(key: string, replicas: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const r of replicas) {
    const score = hash53(`${r}\u0000${key}`);
    if (score > bestScore || (score === bestScore && best !== undefined && r < best)) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}
