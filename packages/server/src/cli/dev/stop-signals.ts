/**
 * How `cairn dev` hears that it should stop: the first SIGINT, SIGTERM or SIGHUP aborts `signal`
 * (ending start-up at once) and resolves `requested`; asking again a second later calls `hurry`
 * (kill everything now). Under `npm start` one Ctrl-C arrives twice (from the terminal and
 * forwarded by npm): a repeat within DUPLICATE_SIGNAL_MS is the same request.
 */

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const DUPLICATE_SIGNAL_MS = 1000;

export interface StopSignals {
  readonly signal: AbortSignal;
  readonly requested: Promise<void>;
  /** Stops listening (the default actions apply again). */
  dispose(): void;
}

export function watchStopSignals(hurry: () => void): StopSignals {
  const controller = new AbortController();
  let resolveRequested: () => void = () => {};
  const requested = new Promise<void>((resolve) => {
    resolveRequested = resolve;
  });
  let firstMs: number | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (firstMs === null) {
      firstMs = Date.now();
      controller.abort(new Error(`interrupted by ${signal}`));
      resolveRequested();
    } else if (Date.now() - firstMs >= DUPLICATE_SIGNAL_MS) {
      hurry();
    }
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return {
    signal: controller.signal,
    requested,
    dispose: () => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}
