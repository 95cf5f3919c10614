/** A promise with its settle functions and a deadline on the monotonic clock. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly deadlineMs: number;
  resolve(value: T): void;
  reject(err: Error): void;
}

export function deferred<T>(timeoutMs: number, nowMs = performance.now()): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, deadlineMs: nowMs + timeoutMs, resolve, reject };
}
