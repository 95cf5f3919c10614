import { DeltaPacker, type EncodedDeltas } from '../../api/watch/delta-packer.js';
import type { FederatedChange } from '../federated-view.js';
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

/** Packs drained batches into `delta` messages of about `bytesMax` each (see DeltaPacker). */
export function encodeDeltas(
  encoder: ChangeEncoder,
  subJson: string,
  batches: readonly FeedBatch[],
  bytesMax: number,
): EncodedDeltas {
  const packer = new DeltaPacker(subJson, bytesMax);
  for (const batch of batches) for (const c of batch.changes) packer.add(batch.revision, encoder.encode(c));
  return packer.finish();
}
