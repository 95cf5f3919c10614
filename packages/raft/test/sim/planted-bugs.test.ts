import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FailureKind, type PlantedBugName, runSimulation, type SimResult } from '../../src/sim/index.js';

/**
 * The harness must catch each deliberately broken core within a stated seed budget. Each bug is
 * hunted with the fault mix aimed at it (the profile the CLI picks for --bug): leader churn for
 * commitPreviousTerm, crashes right after granting a vote for voteBeforePersist, and a leader cut
 * off while clients read through it for readIndexWithoutQuorum. Measured over seeds 1-200 (3 nodes,
 * 6000 steps): commitPreviousTerm fails 8% of seeds, voteBeforePersist 20%, readIndexWithoutQuorum
 * 80%, so a budget of 200 seeds misses with a chance below one in ten million even for the rarest.
 */
interface Case {
  readonly bug: PlantedBugName;
  readonly budgetSeeds: number;
  /** The properties this bug can break; a run failing otherwise is not this bug being caught. */
  readonly kinds: readonly FailureKind[];
}

const SAFETY: readonly FailureKind[] = [
  'election-safety',
  'log-matching',
  'committed-entry-lost',
  'leader-completeness',
  'state-machine-safety',
  'snapshot-mismatch',
  'linearizability',
];

const CASES: readonly Case[] = [
  { bug: 'commitPreviousTerm', budgetSeeds: 200, kinds: SAFETY },
  { bug: 'voteBeforePersist', budgetSeeds: 200, kinds: SAFETY },
  // A stale read breaks no property of the log, only of what clients see.
  { bug: 'readIndexWithoutQuorum', budgetSeeds: 200, kinds: ['linearizability'] },
];

const NODES = 3;

describe('planted bugs', () => {
  for (const c of CASES) {
    it(`catches ${c.bug} within ${c.budgetSeeds} seeds`, (t) => {
      let caught: SimResult | undefined;
      const other: string[] = [];
      for (let seed = 1; seed <= c.budgetSeeds && caught === undefined; seed++) {
        const r = runSimulation({ seed, nodes: NODES, bug: c.bug });
        if (r.failure === null) continue;
        if (c.kinds.includes(r.failure.kind)) caught = r;
        else other.push(`seed ${r.seed}: ${r.failure.kind}: ${r.failure.message.split('\n')[0]}`);
      }
      assert.ok(caught !== undefined, `not caught in ${c.budgetSeeds} seeds; other failures:\n${other.join('\n')}`);
      const f = caught.failure!;
      t.diagnostic(`caught at seed ${caught.seed}: ${f.kind} at step ${f.step}: ${f.message.split('\n')[0]}`);
      t.diagnostic(`replay: ${caught.replay}`);
      assert.match(caught.replay, new RegExp(`--seed ${caught.seed} .*--bug ${c.bug}`));

      // The failure replays exactly, and the same run without the bug passes.
      const again = runSimulation({ seed: caught.seed, nodes: NODES, bug: c.bug });
      assert.equal(again.traceHash, caught.traceHash);
      assert.deepEqual(again.failure, caught.failure);
      const fixed = runSimulation({ seed: caught.seed, nodes: NODES, profile: caught.profile });
      assert.equal(fixed.failure, null, `seed ${caught.seed} fails without the bug too: ${fixed.failure?.message}`);
    });
  }
});
