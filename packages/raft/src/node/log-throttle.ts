/**
 * Limits how often one kind of log line is written, so a peer that misbehaves in a loop (wrong
 * secret, garbage frames) cannot flood the log. Bounded: it remembers at most `maxKeys` kinds.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { startMs: number; count: number }>();
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(perWindow = 5, windowMs = 10_000, maxKeys = 1024) {
    this.perWindow = perWindow;
    this.windowMs = windowMs;
    this.maxKeys = maxKeys;
  }

  allow(key: string, nowMs = performance.now()): boolean {
    const w = this.windows.get(key);
    if (w === undefined || nowMs - w.startMs >= this.windowMs) {
      if (w === undefined && this.windows.size >= this.maxKeys) this.windows.clear();
      this.windows.set(key, { startMs: nowMs, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= this.perWindow;
  }
}
