import { CairnSdkError } from '../errors.js';

/**
 * The replicas of one registry (a zone's servers, or the federation's), tried in turn: after a
 * failure the next one, and after a whole round without success a growing pause (with jitter, so
 * that a fleet of clients does not come back in step).
 */
export class ReplicaSet {
  private readonly urls: readonly string[];
  private next: number;
  private failuresInRow = 0;

  constructor(
    urls: readonly string[],
    private readonly backoffMsMin = 100,
    private readonly backoffMsMax = 3000,
    random: () => number = Math.random,
  ) {
    if (urls.length === 0) throw new CairnSdkError('INVALID_OPTIONS', 'give at least one registry server URL');
    this.urls = urls.map(normalizeBaseUrl);
    // Spread clients over the replicas from the start.
    this.next = Math.floor(random() * this.urls.length);
  }

  get size(): number {
    return this.urls.length;
  }

  get all(): readonly string[] {
    return this.urls;
  }

  /** The replica to try now, skipping `avoid` when there is another. */
  take(avoid?: string): string {
    let url = this.urls[this.next % this.urls.length]!;
    this.next++;
    if (url === avoid && this.urls.length > 1) {
      url = this.urls[this.next % this.urls.length]!;
      this.next++;
    }
    return url;
  }

  succeeded(): void {
    this.failuresInRow = 0;
  }

  /** Records a failed attempt; returns how long to wait before the next one. */
  failed(random: () => number = Math.random): number {
    this.failuresInRow++;
    if (this.failuresInRow < this.urls.length) return 0;
    const rounds = Math.floor(this.failuresInRow / this.urls.length);
    const ceiling = Math.min(this.backoffMsMax, this.backoffMsMin * 2 ** (rounds - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }
}

/** `http://host:port` (trailing slashes dropped); checked here, where the caller gave it. */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new CairnSdkError('INVALID_OPTIONS', `'${raw}' is not a server URL (like http://10.0.1.1:8848)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CairnSdkError('INVALID_OPTIONS', `'${raw}': server URLs are http:// or https://`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** The WebSocket URL of a path on a server. */
export function wsUrl(base: string, path: string): string {
  return base.replace(/^http/, 'ws') + path;
}
