import type { Entry } from '../core/types.js';

/**
 * The harness's copy of one node's log as the core last handed it out: a snapshot boundary and the
 * entries after it. Between Readies this is exactly the core's log, because the core may only change
 * its log in ways a Ready reports (at most one Ready is outstanding).
 */
export class LogMirror {
  snapIndex = 0;
  snapTerm = 0;
  private entries: Entry[] = [];

  static of(snapIndex: number, snapTerm: number, entries: readonly Entry[]): LogMirror {
    const log = new LogMirror();
    log.reset(snapIndex, snapTerm);
    for (const e of entries) log.entries.push(e);
    return log;
  }

  reset(snapIndex: number, snapTerm: number): void {
    this.snapIndex = snapIndex;
    this.snapTerm = snapTerm;
    this.entries = [];
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  /** The term at `index`: the snapshot's at its boundary, undefined below it or past the end. */
  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    return this.entry(index)?.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapIndex) return undefined;
    return this.entries[index - this.snapIndex - 1];
  }

  /** Truncates from `entries[0].index` and appends; the caller has checked that they fit. */
  write(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.entries.length = Math.max(0, first.index - this.snapIndex - 1);
    for (const e of entries) this.entries.push(e);
  }

  compact(index: number, term: number): void {
    if (index <= this.snapIndex) return;
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
  }
}
