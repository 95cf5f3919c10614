import type { WireNamespace, WireService, ZoneWeight } from '../../protocol/wire-model.js';
import type { FederatedChange, FederatedInstance } from '../federated-view.js';
import type { FeedBatch } from './change-feed.js';

/**
 * Watch messages as JSON text, assembled from pieces so their size is known before they are sent.
 * Every subscription is handed the same change objects, so each is serialized once for all of
 * them (a WeakMap: an entry lives as long as the change is held by the history or a queue).
 */
export class ChangeEncoder {
  private readonly cache = new WeakMap<FederatedChange, string>();

  encode(c: FederatedChange): string {
    let json = this.cache.get(c);
    if (json === undefined) {
      json = JSON.stringify(c);
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
 * Packs drained batches into `delta` messages of about `bytesMax` each, splitting a revision only
 * when it alone is larger (the message before the split then says the revision before it, so a
 * resume replays the split revision whole).
 */
export function encodeDeltas(
  encoder: ChangeEncoder,
  subJson: string,
  batches: readonly FeedBatch[],
  bytesMax: number,
): EncodedDeltas {
  const messages: string[] = [];
  let parts: string[] = [];
  let bytes = 0;
  let completeThrough = 0;
  let prevRevision = 0;
  const emit = (revision: number): void => {
    messages.push(`{"type":"delta","sub":${subJson},"revision":${revision},"changes":[${parts.join(',')}]}`);
    parts = [];
    bytes = 0;
  };
  for (const batch of batches) {
    for (const c of batch.changes) {
      const json = encoder.encode(c);
      if (parts.length > 0 && bytes + json.length > bytesMax) {
        emit(prevRevision === batch.revision ? batch.revision - 1 : prevRevision);
      }
      parts.push(json);
      bytes += json.length + 1;
      prevRevision = batch.revision;
      completeThrough = batch.revision;
    }
  }
  if (parts.length > 0) emit(completeThrough);
  return { messages, revision: completeThrough };
}

/**
 * A subscription's view at one revision, sent in parts of about `bytesMax` each. It holds the
 * view's (immutable) objects as they were when taken; parts are encoded only as the socket takes them.
 */
export class SnapshotCursor {
  private index = 0;
  private part = 0;
  private readonly total: number;

  constructor(
    readonly revision: number,
    private readonly namespaces: readonly WireNamespace[],
    private readonly services: readonly WireService[],
    private readonly instances: readonly FederatedInstance[],
    private readonly zoneWeights: readonly ZoneWeight[],
  ) {
    this.total = namespaces.length + services.length + instances.length;
  }

  get done(): boolean {
    return this.part > 0 && this.index >= this.total;
  }

  /** The next part as a `snapshot` message (part 0 even when the view is empty). */
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
            : [insts, this.instances[i - svcEnd]];
      const json = JSON.stringify(item);
      list.push(json);
      bytes += json.length + 1;
    }
    const zoneWeights = this.part === 0 ? this.zoneWeights : [];
    const part = this.part++;
    const last = this.index >= this.total;
    return (
      `{"type":"snapshot","sub":${subJson},"revision":${this.revision},"part":${part},"last":${last},` +
      `"namespaces":[${ns.join(',')}],"services":[${svcs.join(',')}],"instances":[${insts.join(',')}],` +
      `"zoneWeights":${JSON.stringify(zoneWeights)}}`
    );
  }
}
