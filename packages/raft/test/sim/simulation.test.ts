import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation, type SimResult } from '../../src/sim/index.js';

/**
 * Whole clusters under every fault the harness has (crashes that lose unpersisted writes, power
 * cuts, partitions both ways and one way, loss, duplication, reordering, clock drift, snapshots,
 * membership changes, leadership transfer), checking Raft's safety properties after every event and
 * the clients' history for linearizability at the end. Seeds alternate 3 and 5 nodes.
 */
const SEEDS = 300;
const SOAK_SEEDS = 10_000;
const SOAK_FIRST_SEED = 1_000_000;

function nodesFor(seed: number): 3 | 5 {
  return seed % 2 === 0 ? 5 : 3;
}

function explain(failures: readonly SimResult[]): string {
  return failures
    .map((r) => {
      const f = r.failure!;
      return `seed ${r.seed}: ${f.kind} at step ${f.step}: ${f.message.split('\n')[0]}\n  replay: ${r.replay}`;
    })
    .join('\n');
}

function runSeeds(first: number, count: number): SimResult[] {
  const results: SimResult[] = [];
  for (let seed = first; seed < first + count; seed++) results.push(runSimulation({ seed, nodes: nodesFor(seed) }));
  return results;
}

function total(results: readonly SimResult[], pick: (r: SimResult) => number): number {
  return results.reduce((sum, r) => sum + pick(r), 0);
}

describe('simulation', () => {
  it(`keeps ${SEEDS} seeds safe and linearizable, with every fault on`, (t) => {
    const startedMs = performance.now();
    const results = runSeeds(1, SEEDS);
    const elapsedS = (performance.now() - startedMs) / 1000;
    t.diagnostic(
      `${SEEDS} seeds in ${elapsedS.toFixed(1)} s (${((elapsedS * 100) / SEEDS).toFixed(1)} s per 100 seeds)`,
    );
    const failures = results.filter((r) => !r.ok);
    assert.equal(failures.length, 0, `\n${explain(failures)}`);

    // The runs did what they are meant to: elections, writes and both kinds of reads, crashes and
    // partitions, snapshots sent over the wire, membership changes in 5-node clusters.
    const five = results.filter((r) => r.nodes === 5);
    assert.ok(total(results, (r) => r.stats.termsWithLeader) > 3 * SEEDS, 'too few elections');
    assert.ok(total(results, (r) => r.stats.clients.ok) > 50 * SEEDS, 'too few acknowledged requests');
    assert.ok(total(results, (r) => r.stats.clients.unknown) > SEEDS, 'too few indeterminate requests');
    assert.ok(total(results, (r) => r.stats.clients.indexReads) > 10 * SEEDS, 'too few ReadIndex reads');
    assert.ok(total(results, (r) => r.stats.clients.logReads) > 10 * SEEDS, 'too few log reads');
    assert.ok(total(results, (r) => r.stats.faults.crashes) > SEEDS, 'too few crashes');
    assert.ok(total(results, (r) => r.stats.faults.powerLosses) > 0, 'no power cut');
    assert.ok(total(results, (r) => r.stats.faults.partitions) > SEEDS, 'too few partitions');
    assert.ok(total(results, (r) => r.stats.faults.transfers) > 0, 'no leadership transfer');
    assert.ok(total(results, (r) => r.stats.messages.duplicated) > SEEDS, 'too few duplicated messages');
    assert.ok(total(results, (r) => r.stats.snapshotsInstalled) > SEEDS, 'too few snapshots installed');
    assert.ok(total(five, (r) => r.stats.membershipCycles) > five.length, 'too few membership cycles');
    // The checker settled (nearly) every history rather than running out of budget.
    assert.ok(results.filter((r) => r.stats.linearizability !== 'ok').length <= SEEDS / 100, 'checker gave up');
  });

  it('replays a seed bit for bit, and different seeds differ', () => {
    const a = runSimulation({ seed: 4242, nodes: 5 });
    const b = runSimulation({ seed: 4242, nodes: 5 });
    assert.equal(a.traceHash, b.traceHash);
    assert.deepEqual(a.stats, b.stats);
    assert.ok(a.stats.events > 1000);
    assert.notEqual(runSimulation({ seed: 4243, nodes: 5 }).traceHash, a.traceHash);
    assert.notEqual(runSimulation({ seed: 4242, nodes: 3 }).traceHash, a.traceHash);
  });

  it(`soaks ${SOAK_SEEDS} seeds`, { skip: process.env['SIM_SOAK'] !== '1' && 'set SIM_SOAK=1 to run' }, () => {
    const failures: SimResult[] = [];
    // In slices, so that the results of one slice can be collected before the next.
    for (let first = SOAK_FIRST_SEED; first < SOAK_FIRST_SEED + SOAK_SEEDS; first += 500) {
      failures.push(...runSeeds(first, 500).filter((r) => !r.ok));
    }
    assert.equal(failures.length, 0, `\n${explain(failures)}`);
  });
});
