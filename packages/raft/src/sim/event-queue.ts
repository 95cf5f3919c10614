/**
 * The simulation's clock and agenda: events ordered by simulated time, ties broken by the order in
 * which they were scheduled, so that a run is a pure function of its seed.
 */
export interface ScheduledEvent {
  readonly timeMs: number;
  readonly seq: number;
  /** Goes into the trace: what happened, readable in a failure report. */
  readonly label: string;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: ScheduledEvent[] = [];
  private seq = 0;
  private nowMsValue = 0;

  constructor(private readonly sizeMax: number) {}

  get nowMs(): number {
    return this.nowMsValue;
  }

  get size(): number {
    return this.heap.length;
  }

  after(delayMs: number, label: string, run: () => void): void {
    if (!(delayMs >= 0)) throw new Error(`cannot schedule ${label} ${delayMs} ms in the past`);
    if (this.heap.length >= this.sizeMax) throw new Error(`event queue over its bound of ${this.sizeMax}`);
    this.push({ timeMs: this.nowMsValue + delayMs, seq: this.seq++, label, run });
  }

  /** Removes the next event and advances the clock to it; undefined when nothing is left. */
  pop(): ScheduledEvent | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.nowMsValue = top.timeMs;
    return top;
  }

  private push(event: ScheduledEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && before(heap[left]!, heap[least]!)) least = left;
      if (right < heap.length && before(heap[right]!, heap[least]!)) least = right;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least]!, heap[i]!];
      i = least;
    }
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}
