import { randomInt } from 'node:crypto';
import type { RandomSource } from './types.js';

/** A small, fast, seedable PRNG (mulberry32). Same seed, same sequence, on every platform. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n) };
}

/** Randomness from the operating system, for production nodes. */
export function systemRandom(): RandomSource {
  return { int: (n) => (n <= 1 ? 0 : randomInt(n)) };
}
