import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RaftError } from '../../src/core/errors.js';
import { deferred } from '../../src/node/deferred.js';
import { type ProposalOutcome, ProposalTracker } from '../../src/node/proposal-tracker.js';
import { ReadTracker } from '../../src/node/read-tracker.js';

function code(err: unknown): string {
  return err instanceof RaftError ? err.code : String(err);
}

describe('ProposalTracker', () => {
  it('resolves a proposal when its index is applied with its term', async () => {
    const t = new ProposalTracker();
    const w = deferred<ProposalOutcome>(1_000);
    t.landed(5, 2, w);
    t.applied(5, 2, 'ok');
    assert.deepStrictEqual(await w.promise, { index: 5, result: 'ok' });
    assert.equal(t.size, 0);
  });

  it('rejects a proposal whose entry was overwritten by another term', async () => {
    const t = new ProposalTracker();
    const w = deferred<ProposalOutcome>(1_000);
    t.landed(5, 2, w);
    t.applied(5, 3, 'someone else');
    await assert.rejects(w.promise, (err) => code(err) === 'PROPOSAL_DROPPED' && /overwritten/.test(String(err)));
  });

  it('rejects the older proposal when this node lands a new one at the same index in a newer term', async () => {
    const t = new ProposalTracker();
    const old = deferred<ProposalOutcome>(1_000);
    const fresh = deferred<ProposalOutcome>(1_000);
    t.landed(7, 1, old);
    t.landed(7, 2, fresh);
    await assert.rejects(old.promise, /overwritten/);
    t.applied(7, 2, 'mine');
    assert.equal((await fresh.promise).result, 'mine');
  });

  it('follows a forwarded proposal through its ack, including acks that arrive after the apply', async () => {
    const t = new ProposalTracker();
    const early = deferred<ProposalOutcome>(1_000);
    const late = deferred<ProposalOutcome>(1_000);
    const dropped = deferred<ProposalOutcome>(1_000);
    t.forwarded(1, early);
    t.forwarded(2, late);
    t.forwarded(3, dropped);
    t.acked({ reqId: 1, index: 10, term: 4 }, 9);
    t.applied(10, 4, 'a');
    t.applied(11, 4, 'b');
    t.acked({ reqId: 2, index: 11, term: 4 }, 11);
    t.acked({ reqId: 3, index: 0, term: 4 }, 11);
    assert.deepStrictEqual(await early.promise, { index: 10, result: 'a' });
    assert.deepStrictEqual(await late.promise, { index: 11, result: 'b' });
    await assert.rejects(dropped.promise, (err) => code(err) === 'PROPOSAL_DROPPED');
  });

  it('times out, and rejects what a received snapshot covers as of unknown outcome', async () => {
    const t = new ProposalTracker();
    const slow = deferred<ProposalOutcome>(10, 0);
    const covered = deferred<ProposalOutcome>(1_000, 0);
    const after = deferred<ProposalOutcome>(1_000, 0);
    t.landed(3, 1, slow);
    t.landed(4, 1, covered);
    t.landed(9, 1, after);
    t.expire(5);
    t.expire(10);
    await assert.rejects(slow.promise, (err) => code(err) === 'TIMEOUT');
    t.restored(8);
    await assert.rejects(covered.promise, (err) => code(err) === 'TIMEOUT' && /unknown/.test(String(err)));
    assert.equal(t.size, 1);
    t.rejectAll(new RaftError('CLOSED', 'closed'));
    await assert.rejects(after.promise, (err) => code(err) === 'CLOSED');
  });
});

describe('ReadTracker', () => {
  it('resolves once applied reaches the read index, and retries a refused read', async () => {
    const t = new ReadTracker('n1');
    const w = deferred<number>(1_000);
    const first = t.issue(w);
    t.answered({ context: first, index: 0, reject: true }, 3);
    const [retry] = t.takeRetries();
    assert.ok(retry);
    const second = t.issue(retry);
    assert.notEqual(second, first);
    t.answered({ context: second, index: 12, reject: false }, 10);
    t.applied(11);
    assert.equal(t.size, 1);
    t.applied(12);
    assert.equal(await w.promise, 12);
  });

  it('reports the last refusal when the deadline passes', async () => {
    const t = new ReadTracker('n1');
    const w = deferred<number>(10, 0);
    const context = t.issue(w);
    t.failedToIssue(context, new RaftError('NO_LEADER', 'no leader'));
    t.expire(20);
    await assert.rejects(w.promise, (err) => code(err) === 'NO_LEADER');
    assert.equal(t.size, 0);
  });
});
