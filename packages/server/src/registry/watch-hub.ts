import { serviceKeyOf } from './model.js';
import type { Change } from './registry-state.js';

/** What a watcher wants: everything (the federation), or a set of services (the SDK). */
export type WatchFilter = { readonly all: true } | { readonly services: ReadonlySet<string> };

/** What a watcher is sent, in order. */
export type WatchEvent =
  | { readonly type: 'delta'; readonly revision: number; readonly changes: readonly Change[] }
  /** The watcher fell too far behind (or asked for history we no longer hold): it must resync from a snapshot. */
  | { readonly type: 'resync'; readonly reason: string };

export interface Watcher {
  readonly id: number;
  readonly filter: WatchFilter;
  /** Events not yet taken by the transport. Bounded: overflowing it turns into one 'resync'. */
  readonly queue: WatchEvent[];
  resyncing: boolean;
  closed: boolean;
  /** Called once whenever the queue goes from empty to non-empty. */
  readonly wake: () => void;
}

export interface WatchHubOptions {
  /** Changes kept for watchers that resume from a revision. */
  readonly historyMax: number;
  /** Events queued per watcher before it is declared slow and resynced. */
  readonly queueMax: number;
}

/**
 * Fans out the registry's changes, in revision order, to every watcher on this replica, and keeps a
 * bounded history so a watcher that reconnects (here or on another replica) resumes without a gap.
 */
export class WatchHub {
  private readonly history: Change[] = [];
  private historyStart = 0;
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 1;
  /** The newest revision published; watchers are current up to here. */
  revision = 0;

  constructor(private readonly opts: WatchHubOptions) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** The oldest revision a watcher can resume from (it then receives everything after it). */
  get oldestResumable(): number {
    const first = this.history[this.historyStart];
    return first ? first.revision - 1 : this.revision;
  }

  publish(revision: number, changes: readonly Change[]): void {
    if (revision < this.revision) throw new Error(`watch hub: revision ${revision} after ${this.revision}`);
    this.revision = revision;
    if (changes.length === 0) return;
    for (const c of changes) this.history.push(c);
    this.trimHistory();
    for (const w of this.watchers.values()) {
      const mine = changes.filter((c) => matches(w.filter, c));
      if (mine.length > 0) this.enqueue(w, { type: 'delta', revision, changes: mine });
    }
  }

  /** Forget all history (after the state was replaced by a snapshot); every watcher must resync. */
  reset(revision: number): void {
    this.history.length = 0;
    this.historyStart = 0;
    this.revision = revision;
    for (const w of this.watchers.values())
      this.enqueue(w, { type: 'resync', reason: 'the replica restored a snapshot' });
  }

  /**
   * Adds a watcher. With `fromRevision`, it first receives every change after that revision from the
   * history; returns false for `resumed` when the history no longer reaches back that far (the caller
   * then sends a snapshot first).
   */
  watch(filter: WatchFilter, wake: () => void, fromRevision?: number): { watcher: Watcher; resumed: boolean } {
    const w: Watcher = { id: this.nextId++, filter, queue: [], resyncing: false, closed: false, wake };
    this.watchers.set(w.id, w);
    if (fromRevision === undefined) return { watcher: w, resumed: false };
    if (fromRevision < this.oldestResumable || fromRevision > this.revision) return { watcher: w, resumed: false };
    let batch: Change[] = [];
    let batchRev = 0;
    for (let i = this.historyStart; i < this.history.length; i++) {
      const c = this.history[i]!;
      if (c.revision <= fromRevision || !matches(filter, c)) continue;
      if (c.revision !== batchRev && batch.length > 0) {
        this.enqueue(w, { type: 'delta', revision: batchRev, changes: batch });
        batch = [];
      }
      batchRev = c.revision;
      batch.push(c);
    }
    if (batch.length > 0) this.enqueue(w, { type: 'delta', revision: batchRev, changes: batch });
    return { watcher: w, resumed: !w.resyncing };
  }

  unwatch(w: Watcher): void {
    w.closed = true;
    this.watchers.delete(w.id);
  }

  /** Takes the queued events of a watcher; after a resync the watcher starts a fresh queue. */
  drain(w: Watcher): WatchEvent[] {
    const out = w.queue.splice(0, w.queue.length);
    w.resyncing = false;
    return out;
  }

  private enqueue(w: Watcher, ev: WatchEvent): void {
    if (w.closed || w.resyncing) return;
    const wasEmpty = w.queue.length === 0;
    if (ev.type === 'resync' || w.queue.length >= this.opts.queueMax) {
      // A slow consumer loses its backlog and gets one resync instead: memory stays bounded.
      w.queue.length = 0;
      w.queue.push(ev.type === 'resync' ? ev : { type: 'resync', reason: 'the watcher fell too far behind' });
      w.resyncing = true;
    } else {
      w.queue.push(ev);
    }
    if (wasEmpty) w.wake();
  }

  private trimHistory(): void {
    const excess = this.history.length - this.historyStart - this.opts.historyMax;
    if (excess <= 0) return;
    // Never split one revision's changes: a resumed watcher must see a revision whole.
    let cut = this.historyStart + excess;
    const rev = this.history[cut - 1]?.revision;
    while (cut < this.history.length && this.history[cut]?.revision === rev) cut++;
    this.historyStart = cut;
    if (this.historyStart > 4096 && this.historyStart * 2 > this.history.length) {
      this.history.splice(0, this.historyStart);
      this.historyStart = 0;
    }
  }
}

function matches(filter: WatchFilter, c: Change): boolean {
  if ('all' in filter) return true;
  if (c.kind === 'instance') return filter.services.has(serviceKeyOf(c.instance));
  if (c.kind === 'service') return filter.services.has(serviceKeyOf(c.service));
  // Zone weights and namespaces concern every watcher.
  return true;
}
