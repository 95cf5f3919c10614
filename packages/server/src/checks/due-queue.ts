/**
 * A binary min-heap of items keyed by the time they are due. Entries are never removed from the
 * middle: the owner marks an item stale (see the checker's generation numbers) and skips it when it
 * surfaces, and rebuilds the heap when stale entries pile up.
 */
export class DueQueue<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(dueAt: number, item: T): void {
    this.at.push(dueAt);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  /** The earliest due time, or Infinity when empty. */
  peekDueAt(): number {
    return this.at[0] ?? Number.POSITIVE_INFINITY;
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    const lastAt = this.at.pop()!;
    const lastItem = this.items.pop()!;
    if (n > 1) {
      this.at[0] = lastAt;
      this.items[0] = lastItem;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    this.at.length = 0;
    this.items.length = 0;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent]! <= this.at[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && this.at[l]! < this.at[min]!) min = l;
      if (r < n && this.at[r]! < this.at[min]!) min = r;
      if (min === i) return;
      this.swap(i, min);
      i = min;
    }
  }

  private swap(a: number, b: number): void {
    [this.at[a], this.at[b]] = [this.at[b]!, this.at[a]!];
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
}
