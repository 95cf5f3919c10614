import { toWireInstance } from '../../protocol/wire-model.js';
import type { Change } from '../../registry/registry-state.js';
import type { WatchEvent } from '../../registry/watch-hub.js';
import { DeltaPacker, type EncodedDeltas } from './delta-packer.js';

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

/**
 * Packs the drained delta events of one subscription into `delta` messages of about `bytesMax` each
 * (see DeltaPacker). `keep` filters changes out (e.g. namespaces for service subscriptions).
 */
export function encodeDeltas(
  encoder: ChangeEncoder,
  subJson: string,
  events: readonly WatchEvent[],
  bytesMax: number,
  keep: (c: Change) => boolean,
): EncodedDeltas {
  const packer = new DeltaPacker(subJson, bytesMax);
  for (const ev of events) {
    if (ev.type !== 'delta') continue;
    for (const c of ev.changes) if (keep(c)) packer.add(c.revision, encoder.encode(c));
  }
  return packer.finish();
}
