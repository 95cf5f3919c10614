/**
 * Lease renewals a follower gathers between two forwards to the leader. Ids are appended as they
 * come, with no hashing on the heartbeat path: an instance renews about once a second and batches
 * leave every 100 ms, so repeats are rare and the leader takes them in its stride. Only a pile-up
 * (no leader to forward to) is de-duplicated, and past `max` distinct ids the oldest are dropped:
 * a new leader grants every lease a full period anyway.
 */
export class RenewalBuffer {
  private ids: string[] = [];

  constructor(private readonly max: number) {}

  get size(): number {
    return this.ids.length;
  }

  add(ids: readonly string[]): void {
    for (const id of ids) this.ids.push(id);
    if (this.ids.length > this.max) this.squeeze();
  }

  /** Everything gathered so far; the buffer starts over empty. */
  take(): string[] {
    const out = this.ids;
    this.ids = [];
    return out;
  }

  private squeeze(): void {
    const distinct = [...new Set(this.ids)];
    this.ids = distinct.length > this.max / 2 ? distinct.slice(distinct.length - Math.floor(this.max / 2)) : distinct;
  }
}

/**
 * Splits renewals into batches of about `bytesMax` of JSON each, so that a follower relaying a
 * million instances' heartbeats stays within the leader's request body limit.
 */
export function renewalBatches(
  instances: readonly string[],
  sessions: readonly string[],
  bytesMax: number,
): { instances: string[]; sessions: string[] }[] {
  const out: { instances: string[]; sessions: string[] }[] = [];
  let batch = { instances: [] as string[], sessions: [] as string[] };
  let bytes = 0;
  const add = (list: 'instances' | 'sessions', id: string): void => {
    if (bytes > 0 && bytes + id.length + 3 > bytesMax) {
      out.push(batch);
      batch = { instances: [], sessions: [] };
      bytes = 0;
    }
    batch[list].push(id);
    bytes += id.length + 3;
  };
  for (const id of instances) add('instances', id);
  for (const id of sessions) add('sessions', id);
  if (bytes > 0) out.push(batch);
  return out;
}
