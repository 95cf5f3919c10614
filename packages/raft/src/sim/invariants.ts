import type { Entry, NodeId } from '../core/types.js';
import type { LogMirror } from './log-mirror.js';

export type SafetyProperty =
  | 'election-safety'
  | 'log-matching'
  | 'committed-entry-lost'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'snapshot-mismatch'
  | 'core-contract';

/** A broken safety property, thrown from wherever the harness first sees it. */
export class SafetyViolation extends Error {
  constructor(
    readonly property: SafetyProperty,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

interface CommittedEntry {
  readonly key: string;
  /**
   * A term at or after the one in which the entry was committed: the term of the first node seen
   * holding it as committed. An over-estimate only weakens the leader-completeness check, never
   * makes it report a false violation.
   */
  readonly commitTermMax: number;
}

/** The identity of an entry's contents: term, type and data. */
export function entryKey(e: Entry): string {
  let h = 0x811c9dc5;
  for (const byte of e.data) h = Math.imul(h ^ byte, 0x01000193);
  return `${e.term}:${e.type}:${e.data.length}:${(h >>> 0).toString(16)}`;
}

/**
 * Raft's safety properties (Figure 3 of the Raft paper), checked incrementally as the harness
 * watches nodes write logs, learn commit indexes, win elections and apply entries. All state here is
 * global across the whole run, crashes included: a property is about all time, not one incarnation.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) -> contents and the term before it: unique, which by induction gives log matching. */
  private readonly identities = new Map<string, string>();
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly applied = new Map<number, string>();
  /** A fingerprint of the state machine after applying through an index, to check snapshots against. */
  private readonly stateAt = new Map<number, string>();
  /** Nodes currently leading, with their term: for leader completeness as new commits appear. */
  private readonly leaders = new Map<NodeId, { term: number; log: LogMirror }>();
  private commitMax = 0;

  get committedCount(): number {
    return this.committed.size;
  }

  get termsWithLeader(): number {
    return this.leaderOfTerm.size;
  }

  /** A node acted as leader of `term` (became leader, or sent a message only a leader sends). */
  leaderSeen(node: NodeId, term: number): void {
    const other = this.leaderOfTerm.get(term);
    if (other === undefined) this.leaderOfTerm.set(term, node);
    else if (other !== node) throw new SafetyViolation('election-safety', `${other} and ${node} both led term ${term}`);
  }

  /** A node became leader of `term` with `log`: it must hold every entry committed in an earlier term. */
  becameLeader(node: NodeId, term: number, log: LogMirror): void {
    this.leaderSeen(node, term);
    this.leaders.set(node, { term, log });
    for (const [index, c] of this.committed) this.checkLeaderHas(node, term, log, index, c);
  }

  steppedDown(node: NodeId): void {
    this.leaders.delete(node);
  }

  private checkLeaderHas(node: NodeId, term: number, log: LogMirror, index: number, c: CommittedEntry): void {
    if (c.commitTermMax >= term || index <= log.snapIndex) return;
    const e = log.entry(index);
    if (e === undefined || entryKey(e) !== c.key) {
      throw new SafetyViolation(
        'leader-completeness',
        `${node} leads term ${term} without entry ${index} (${c.key}) committed by term ${c.commitTermMax}; it has ${e === undefined ? 'nothing' : entryKey(e)}`,
      );
    }
  }

  /**
   * `node` (now at `term`, with commit index `commit`) is about to write `entries` into `log`. Checks
   * log matching for the new entries and that nothing committed is overwritten.
   */
  entriesWritten(node: NodeId, term: number, commit: number, log: LogMirror, entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= log.snapIndex || first.index > log.lastIndex() + 1) {
      throw new SafetyViolation(
        'core-contract',
        `${node} writes from ${first.index}, outside its log (${log.snapIndex}, ${log.lastIndex()}]`,
      );
    }
    for (let i = first.index; i <= log.lastIndex(); i++) {
      const old = log.entry(i)!;
      const replacement = entries[i - first.index];
      if (replacement !== undefined && entryKey(replacement) === entryKey(old)) continue;
      if (i <= commit)
        throw new SafetyViolation('committed-entry-lost', `${node} overwrites its own committed entry ${i}`);
      const c = this.committed.get(i);
      if (c !== undefined && c.key === entryKey(old) && term >= c.commitTermMax) {
        throw new SafetyViolation(
          'committed-entry-lost',
          `${node} (term ${term}) drops entry ${i} (${c.key}), committed by term ${c.commitTermMax}`,
        );
      }
    }
    let prevTerm = log.term(first.index - 1);
    for (const [n, e] of entries.entries()) {
      if (e.index !== first.index + n) throw new SafetyViolation('core-contract', `${node} writes a gap at ${e.index}`);
      const id = `${e.index}:${e.term}`;
      const contents = `${entryKey(e)}<${prevTerm}`;
      const seen = this.identities.get(id);
      if (seen === undefined) this.identities.set(id, contents);
      else if (seen !== contents) {
        throw new SafetyViolation('log-matching', `${node} holds entry ${id} as ${contents}, another node as ${seen}`);
      }
      prevTerm = e.term;
    }
  }

  /** `node` installs a snapshot through (index, term). */
  snapshotInstalled(node: NodeId, index: number, term: number, fingerprint: string): void {
    const c = this.committed.get(index);
    if (c !== undefined && !c.key.startsWith(`${term}:`)) {
      throw new SafetyViolation(
        'snapshot-mismatch',
        `${node} installs a snapshot at ${index} term ${term}; committed ${c.key}`,
      );
    }
    this.stateAgrees(node, index, fingerprint);
  }

  /** `node`'s commit index moved from `from` to `to`; its log must hold what everyone agrees is committed there. */
  commitAdvanced(node: NodeId, term: number, from: number, to: number, log: LogMirror): void {
    if (to < from) throw new SafetyViolation('core-contract', `${node}'s commit index went back from ${from} to ${to}`);
    if (to > log.lastIndex())
      throw new SafetyViolation('core-contract', `${node} commits ${to} past its last index ${log.lastIndex()}`);
    for (let i = Math.max(from + 1, log.snapIndex + 1); i <= to; i++) {
      const key = entryKey(log.entry(i)!);
      const c = this.committed.get(i);
      if (c === undefined) {
        const added = { key, commitTermMax: term };
        this.committed.set(i, added);
        this.commitMax = Math.max(this.commitMax, i);
        for (const [leader, l] of this.leaders) this.checkLeaderHas(leader, l.term, l.log, i, added);
      } else if (c.key !== key) {
        throw new SafetyViolation(
          'committed-entry-lost',
          `${node} commits ${key} at ${i}, where ${c.key} was committed`,
        );
      }
    }
  }

  /** `node` applied `e`, leaving its state machine at `fingerprint`. */
  entryApplied(node: NodeId, e: Entry, fingerprint: string): void {
    const key = entryKey(e);
    const seen = this.applied.get(e.index);
    if (seen === undefined) this.applied.set(e.index, key);
    else if (seen !== key) {
      throw new SafetyViolation(
        'state-machine-safety',
        `${node} applies ${key} at ${e.index}, another node applied ${seen}`,
      );
    }
    this.stateAgrees(node, e.index, fingerprint);
  }

  private stateAgrees(node: NodeId, index: number, fingerprint: string): void {
    const seen = this.stateAt.get(index);
    if (seen === undefined) this.stateAt.set(index, fingerprint);
    else if (seen !== fingerprint) {
      throw new SafetyViolation('state-machine-safety', `${node}'s state after ${index} differs from another node's`);
    }
  }
}
