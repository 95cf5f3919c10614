/** Time as the SDK sees it; tests drive a manual one, so ejection windows need no real waiting. */
export interface Clock {
  now(): number;
  /**
   * Runs `fn` after `ms`. Background timers never keep the process alive; pass `keepAlive` for a
   * timer that bounds something a caller awaits (else a process with nothing else to do would exit
   * in the middle of the await).
   */
  setTimer(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms, keepAlive = false) {
    const t = setTimeout(fn, ms);
    if (!keepAlive) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
