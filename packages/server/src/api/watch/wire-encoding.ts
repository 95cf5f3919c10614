import { toWireInstance } from '../../protocol/wire-model.js';
import type { Instance, Namespace, ServiceInfo } from '../../registry/model.js';
import type { Change } from '../../registry/registry-state.js';
import type { WatchEvent } from '../../registry/watch-hub.js';

/**
 * Encodes watch messages as JSON text. The hub hands every watcher the same Change objects, so each
 * change is serialized once for all of them (a small bounded cache), and messages are assembled from
 * the pieces, which also tells their size before they are sent.
 */
export class ChangeEncoder {
  private readonly cache = new Map<Change, string>();

  constructor(private readonly cacheMax = 8192) {}

  encode(c: Change): string {
    let json = this.cache.get(c);
    if (json === undefined) {
      json = JSON.stringify(c.kind === 'instance' ? { ...c, instance: toWireInstance(c.instance) } : c);
      if (this.cache.size >= this.cacheMax) this.cache.delete(this.cache.keys().next().value as Change);
      this.cache.set(c, json);
    }
    return json;
  }
}

/** Deltas ready to send, and the revision the subscriber is complete through after them. */
export interface EncodedDeltas {
  readonly messages: string[];
  readonly revision: number;
}

/**
 * Packs the drained delta events of one subscription into `delta` messages of about `bytesMax` each,
 * splitting a revision only when it alone is larger. `keep` filters changes out (e.g. namespaces for
 * service subscriptions).
 */
export function encodeDeltas(
  encoder: ChangeEncoder,
  subJson: string,
  events: readonly WatchEvent[],
  bytesMax: number,
  keep: (c: Change) => boolean,
): EncodedDeltas {
  const changes: Change[] = [];
  for (const ev of events) {
    if (ev.type !== 'delta') continue;
    for (const c of ev.changes) if (keep(c)) changes.push(c);
  }
  const messages: string[] = [];
  let parts: string[] = [];
  let bytes = 0;
  let completeThrough = 0;
  const emit = (revision: number): void => {
    messages.push(`{"type":"delta","sub":${subJson},"revision":${revision},"changes":[${parts.join(',')}]}`);
    parts = [];
    bytes = 0;
  };
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    const json = encoder.encode(c);
    if (parts.length > 0 && bytes + json.length > bytesMax) {
      // Complete through the previous change's revision, unless we are inside it.
      const prev = changes[i - 1]!.revision;
      emit(prev === c.revision ? prev - 1 : prev);
    }
    parts.push(json);
    bytes += json.length + 1;
    completeThrough = c.revision;
  }
  if (parts.length > 0) emit(completeThrough);
  return { messages, revision: completeThrough };
}

/**
 * A subscription's view at one revision, sent in parts of about `bytesMax` each. It holds references
 * to the registry's (immutable) objects as they were when it was taken, so later changes do not
 * touch it; the parts are encoded only as the socket can take them.
 */
export class SnapshotCursor {
  private index = 0;
  private part = 0;
  private readonly total: number;

  constructor(
    readonly revision: number,
    private readonly namespaces: readonly Namespace[],
    private readonly services: readonly ServiceInfo[],
    private readonly instances: readonly Instance[],
    private readonly zoneWeights: readonly [string, number][],
  ) {
    this.total = namespaces.length + services.length + instances.length;
  }

  get done(): boolean {
    return this.part > 0 && this.index >= this.total;
  }

  get instanceCount(): number {
    return this.instances.length;
  }

  /** The next part as a `snapshot` message. */
  next(subJson: string, bytesMax: number): string {
    const ns: string[] = [];
    const svcs: string[] = [];
    const insts: string[] = [];
    let bytes = 0;
    const nsEnd = this.namespaces.length;
    const svcEnd = nsEnd + this.services.length;
    while (this.index < this.total && (bytes === 0 || bytes < bytesMax)) {
      const i = this.index++;
      const [list, item] =
        i < nsEnd
          ? [ns, this.namespaces[i]]
          : i < svcEnd
            ? [svcs, this.services[i - nsEnd]]
            : [insts, toWireInstance(this.instances[i - svcEnd]!)];
      const json = JSON.stringify(item);
      list.push(json);
      bytes += json.length + 1;
    }
    const zoneWeights = this.part === 0 ? this.zoneWeights.map(([zone, weight]) => ({ zone, weight })) : [];
    const part = this.part++;
    const last = this.index >= this.total;
    return (
      `{"type":"snapshot","sub":${subJson},"revision":${this.revision},"part":${part},"last":${last},` +
      `"namespaces":[${ns.join(',')}],"services":[${svcs.join(',')}],"instances":[${insts.join(',')}],` +
      `"zoneWeights":${JSON.stringify(zoneWeights)}}`
    );
  }
}
