import type { ZoneWeight } from '../../protocol/wire-model.js';

/**
 * A subscription's view at one revision, sent as `snapshot` messages of about `bytesMax` each. It
 * holds (immutable) objects as they were when taken, so later changes do not touch it; parts are
 * encoded only as the socket takes them. Instances go out as `wireInstance` makes them; the zone
 * registry and the federation each hand theirs here.
 */
export class SnapshotCursor<I extends object = object> {
  private index = 0;
  private part = 0;
  private readonly total: number;

  constructor(
    readonly revision: number,
    private readonly namespaces: readonly object[],
    private readonly services: readonly object[],
    private readonly instances: readonly I[],
    private readonly zoneWeights: readonly ZoneWeight[],
    private readonly wireInstance: (instance: I) => unknown = (instance) => instance,
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
            : [insts, this.wireInstance(this.instances[i - svcEnd]!)];
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
