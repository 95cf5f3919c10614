import type { FederatedChange, FederatedView } from '../federated-view.js';

/** The changes of one revision that concern one reader, in order. */
export interface FeedBatch {
  readonly revision: number;
  readonly changes: readonly FederatedChange[];
}

/** Which changes a reader wants: everything the wire carries, or what one predicate keeps. */
export type FeedFilter = { readonly all: true } | { readonly keep: (c: FederatedChange) => boolean };

/** One subscription's queue of batches, filled by the feed and drained by its socket. */
export interface FeedReader {
  readonly filter: FeedFilter;
  readonly queue: FeedBatch[];
  queuedChanges: number;
  /** The queue overflowed: its backlog was dropped and the subscription must start over from a snapshot. */
  overflowed: boolean;
  closed: boolean;
  /** Called whenever the queue goes from empty to non-empty, or overflows. */
  readonly wake: () => void;
}

export interface ChangeFeedOptions {
  readonly historyChangesMax: number;
  readonly queueChangesMax: number;
}

/**
 * The federation watch's WatchHub: it listens to the merged view once, keeps a bounded history of
 * its batches (so a client that reconnects to this node resumes without a snapshot), and fans each
 * batch out to the subscriptions' bounded queues. A queue that would overflow is dropped for a
 * resync, so a slow reader never holds more than `queueChangesMax` changes (or one batch).
 *
 * Zone state changes have no place in the push protocol's deltas; they are filtered out here and
 * announced to `onZones` listeners instead (the sockets send them as `zones` messages).
 */
export class ChangeFeed {
  /** Batches in order; entries before historyStart are dropped (undefined) until compacted. */
  private readonly history: (FeedBatch | undefined)[] = [];
  private historyStart = 0;
  private historyChanges = 0;
  /** The history holds every change after this revision. */
  private base: number;
  private latest: number;
  private readonly readers = new Set<FeedReader>();
  private readonly zoneListeners = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(
    view: FederatedView,
    private readonly opts: ChangeFeedOptions,
  ) {
    this.base = view.revision;
    this.latest = view.revision;
    this.unsubscribe = view.onChange((revision, changes) => this.publish(revision, changes));
  }

  /** The newest revision published (or the view's revision when the feed started). */
  get revision(): number {
    return this.latest;
  }

  /** The oldest revision a reader can resume from (it then receives every change after it). */
  get oldestResumable(): number {
    return this.base;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  close(): void {
    this.unsubscribe();
    for (const r of this.readers) r.closed = true;
    this.readers.clear();
    this.zoneListeners.clear();
  }

  onZones(listener: () => void): () => void {
    this.zoneListeners.add(listener);
    return () => this.zoneListeners.delete(listener);
  }

  /**
   * Adds a reader. With `fromRevision`, it first receives every change after that revision from
   * the history; `resumed` is false when the history does not cover it (the revision is too old,
   * from another federation node, or the replay alone overflows the queue): the caller then
   * removes the reader and sends a snapshot.
   */
  watch(filter: FeedFilter, wake: () => void, fromRevision?: number): { reader: FeedReader; resumed: boolean } {
    const reader: FeedReader = { filter, queue: [], queuedChanges: 0, overflowed: false, closed: false, wake };
    this.readers.add(reader);
    if (fromRevision === undefined) return { reader, resumed: false };
    if (fromRevision < this.base || fromRevision > this.latest) return { reader, resumed: false };
    for (let i = this.historyStart; i < this.history.length; i++) {
      const b = this.history[i]!;
      if (b.revision > fromRevision) this.offer(reader, b);
    }
    return { reader, resumed: !reader.overflowed };
  }

  unwatch(reader: FeedReader): void {
    reader.closed = true;
    this.readers.delete(reader);
  }

  /** Takes a reader's queued batches; after an overflow the reader starts a fresh queue. */
  drain(reader: FeedReader): FeedBatch[] {
    const out = reader.queue.splice(0, reader.queue.length);
    reader.queuedChanges = 0;
    reader.overflowed = false;
    return out;
  }

  private publish(revision: number, changes: readonly FederatedChange[]): void {
    if (revision < this.latest) this.reset(revision);
    this.latest = revision;
    const wire = changes.filter((c) => c.kind !== 'zoneState');
    if (wire.length > 0) {
      const batch: FeedBatch = { revision, changes: wire };
      this.history.push(batch);
      this.historyChanges += wire.length;
      this.trimHistory();
      for (const r of this.readers) this.offer(r, batch);
    }
    if (changes.some((c) => c.kind === 'zoneState' || c.kind === 'zoneWeight')) {
      for (const l of [...this.zoneListeners]) l();
    }
  }

  /**
   * Revisions went backwards (the contract says they never do): the history no longer describes
   * them, so it is forgotten and every reader starts over from a snapshot. Never thrown from
   * inside the view's listener.
   */
  private reset(revision: number): void {
    this.history.length = 0;
    this.historyStart = 0;
    this.historyChanges = 0;
    this.base = revision;
    for (const r of this.readers) this.overflow(r);
  }

  private overflow(reader: FeedReader): void {
    if (reader.closed) return;
    reader.queue.length = 0;
    reader.queuedChanges = 0;
    reader.overflowed = true;
    reader.wake();
  }

  private offer(reader: FeedReader, batch: FeedBatch): void {
    if (reader.closed || reader.overflowed) return;
    const f = reader.filter;
    const mine = 'all' in f ? batch : { revision: batch.revision, changes: batch.changes.filter(f.keep) };
    if (mine.changes.length === 0) return;
    const wasEmpty = reader.queue.length === 0;
    if (!wasEmpty && reader.queuedChanges + mine.changes.length > this.opts.queueChangesMax) {
      // A slow reader loses its backlog and starts over from a snapshot: memory stays bounded.
      this.overflow(reader);
      return;
    }
    reader.queue.push(mine);
    reader.queuedChanges += mine.changes.length;
    if (wasEmpty) reader.wake();
  }

  /** Drops the oldest whole batches beyond the bound; the newest batch always stays. */
  private trimHistory(): void {
    while (this.historyChanges > this.opts.historyChangesMax && this.history.length - this.historyStart > 1) {
      const b = this.history[this.historyStart]!;
      this.history[this.historyStart] = undefined;
      this.historyStart++;
      this.historyChanges -= b.changes.length;
      this.base = b.revision;
    }
    if (this.historyStart > 1024 && this.historyStart * 2 > this.history.length) {
      this.history.splice(0, this.historyStart);
      this.historyStart = 0;
    }
  }
}
