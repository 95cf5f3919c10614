import type { NodeId } from './types.js';

/** The number of votes that make a majority of `voterCount`. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters have acknowledged: sort the acknowledged indexes
 * descending and take the majority-th. Voters with no acknowledgement count as 0.
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const indexes = voters.map(acked).sort((a, b) => b - a);
  return indexes[majority(voters.length) - 1] ?? 0;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Tallies an election: won with a majority of grants, lost once a majority can no longer be reached. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const need = majority(voters.length);
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const vote = votes.get(v);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}
