import type { Instance, ServiceRef } from '../instance.js';
import { EventChannel } from './event-channel.js';
import type { HeldUpdate, ServiceEvent, ServiceView, Staleness } from './service-view.js';

/** Events a reader of the async iterator may fall behind by before the oldest are dropped. */
const ITERATOR_QUEUE_MAX = 1024;

/**
 * A caller's handle on a watched service: the current instances (read without I/O), change events
 * (`on`), and an async iterator that starts with the current view and then yields every event.
 * `close()` stops this handle's events; the registry keeps the view for picking.
 */
export class ServiceWatch implements AsyncIterable<ServiceEvent> {
  private readonly unsubscribers = new Set<() => void>();
  private readonly channels = new Set<EventChannel<ServiceEvent>>();
  private closed = false;

  constructor(private readonly view: ServiceView) {}

  get service(): ServiceRef {
    return this.view.ref;
  }

  /** Resolves once the view holds something: a fresh view from a registry, or the disk cache. */
  get ready(): Promise<void> {
    return this.view.ready;
  }

  get instances(): Instance[] {
    return this.view.instances();
  }

  get revision(): number {
    return this.view.revision;
  }

  /** Null while the view is live; else since when it may differ from the registry, and why. */
  get staleness(): Staleness | null {
    return this.view.staleness;
  }

  /** An update held back by push-empty protection, if any. */
  get held(): HeldUpdate | null {
    return this.view.held;
  }

  on(listener: (event: ServiceEvent) => void): () => void {
    if (this.closed) return () => {};
    const off = this.view.on(listener);
    this.unsubscribers.add(off);
    return () => {
      off();
      this.unsubscribers.delete(off);
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<ServiceEvent> {
    let off: () => void = () => {};
    const channel = new EventChannel<ServiceEvent>(ITERATOR_QUEUE_MAX, () => {
      off();
      this.channels.delete(channel);
    });
    this.channels.add(channel);
    if (this.closed) channel.end();
    void this.view.ready.then(() => {
      if (this.closed || channel.ended) return;
      // The current view first, so a reader needs nothing else to start from; then every event
      // (subscribed in the same step, so nothing falls between).
      const instances = this.view.instances();
      channel.push({
        type: 'change',
        instances,
        revision: this.view.revision,
        added: instances.map((i) => i.id),
        removed: [],
        updated: [],
      });
      off = this.on((e) => channel.push(e));
    });
    return channel;
  }

  close(): void {
    this.closed = true;
    for (const off of this.unsubscribers) off();
    this.unsubscribers.clear();
    for (const c of this.channels) c.end();
    this.channels.clear();
  }
}
