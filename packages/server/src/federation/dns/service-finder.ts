import type { FederatedService, FederatedView } from '../federated-view.js';
import type { ServiceCandidate } from './query-name.js';
import { asciiLower } from './records.js';

/**
 * Finds the service a query names. cairn names are case-sensitive, DNS names are not: an exact
 * match (in any of the query's readings, in order) wins; failing that, a service that matches
 * case-insensitively is used if it is the only one (`orders` and `Orders` are each reachable by
 * their exact spelling, `ORDERS` by neither). Zones follow the same rule.
 *
 * The case-insensitive indexes are rebuilt only when a lookup needs them after the view changed,
 * so exact lookups cost one `view.service()` per reading.
 */
export class ServiceFinder {
  private foldIndex: Map<string, FoldEntry[]> | null = null;
  private zoneNames: readonly string[] | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly view: FederatedView) {
    this.unsubscribe = view.onChange((_revision, changes) => {
      for (const c of changes) {
        if (c.kind === 'zoneState') this.zoneNames = null;
        else if (c.kind === 'instance' && c.action === 'put' && this.indexes(c.instance)) continue;
        else if (c.kind !== 'zoneWeight') this.foldIndex = null;
      }
    });
  }

  /** Stops following the view. */
  close(): void {
    this.unsubscribe();
  }

  find(candidates: readonly ServiceCandidate[]): FederatedService | undefined {
    for (const c of candidates) {
      const svc = this.view.service(c);
      if (svc !== undefined) return svc;
    }
    const index = this.buildFoldIndex();
    for (const c of candidates) {
      const matches = index.get(foldKey(c));
      if (matches?.length === 1) return this.view.service(matches[0]!);
    }
    return undefined;
  }

  /** The configured zone a label names (exact, then unique case-insensitive match), or null. */
  zoneOf(label: string): string | null {
    this.zoneNames ??= this.view.zones().map((z) => z.zone);
    if (this.zoneNames.includes(label)) return label;
    const lower = asciiLower(label);
    const matches = this.zoneNames.filter((z) => asciiLower(z) === lower);
    return matches.length === 1 ? matches[0]! : null;
  }

  /** True when the index already holds this service (a put for it changes nothing here). */
  private indexes(ref: ServiceCandidate): boolean {
    const list = this.foldIndex?.get(foldKey(ref));
    return (
      list?.some((r) => r.service === ref.service && r.group === ref.group && r.namespace === ref.namespace) ?? false
    );
  }

  private buildFoldIndex(): Map<string, FoldEntry[]> {
    if (this.foldIndex !== null) return this.foldIndex;
    const index = new Map<string, FoldEntry[]>();
    for (const s of this.view.listServices()) {
      const ref: FoldEntry = { namespace: s.namespace, group: s.group, service: s.service };
      const key = foldKey(ref);
      const list = index.get(key);
      if (list) list.push(ref);
      else index.set(key, [ref]);
    }
    this.foldIndex = index;
    return index;
  }
}

type FoldEntry = ServiceCandidate;

function foldKey(r: ServiceCandidate): string {
  return `${asciiLower(r.namespace)}/${asciiLower(r.group)}/${asciiLower(r.service)}`;
}
