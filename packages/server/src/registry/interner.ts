/**
 * Shares one frozen copy of equal values (metadata maps, heartbeat settings, checks, cluster and zone
 * names) among every instance that holds them, so a million instances of a few hundred deployments
 * hold a few hundred metadata maps, not a million. Values are counted: the last instance to let go
 * of a value removes it, so the table never outgrows what the registry holds.
 *
 * Identity is the only thing sharing changes: equal values become the same object, which also lets
 * the registry compare them by reference.
 */

interface Interned<T> {
  readonly key: string;
  readonly value: T;
  refs: number;
}

export class Interner<T extends object | string> {
  private readonly byKey = new Map<string, Interned<T>>();
  private readonly byValue = new Map<T, Interned<T>>();

  /**
   * @param keyOf content key: equal keys mean interchangeable values.
   * @param seal makes a value safe to share (freezes it) before it enters the table.
   */
  constructor(
    private readonly keyOf: (value: T) => string,
    private readonly seal: (value: T) => T = (v) => v,
  ) {}

  /** Distinct values held. */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * The shared value equal to `value` (entering `value` itself, sealed, when it is new). A new value
   * is held with no references until `retain`: callers retain what they keep.
   */
  canonical(value: T): T {
    const known = this.byValue.get(value);
    if (known) return known.value;
    const key = this.keyOf(value);
    const equal = this.byKey.get(key);
    if (equal) return equal.value;
    const entry: Interned<T> = { key, value: this.seal(value), refs: 0 };
    this.byKey.set(key, entry);
    this.byValue.set(entry.value, entry);
    return entry.value;
  }

  /** One more holder of a value `canonical` returned. */
  retain(value: T): void {
    const entry = this.byValue.get(value);
    if (!entry) throw new Error('interner: retaining a value that was not made canonical');
    entry.refs++;
  }

  /** One holder fewer; the value leaves the table with its last holder. */
  release(value: T): void {
    const entry = this.byValue.get(value);
    if (!entry || entry.refs <= 0) throw new Error('interner: releasing a value nobody holds');
    if (--entry.refs > 0) return;
    this.byKey.delete(entry.key);
    this.byValue.delete(entry.value);
  }
}
