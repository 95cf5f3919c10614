import type { FastifyBaseLogger } from 'fastify';
import type { Identity } from './identity.js';
import { identityLabel } from './identity.js';

/** Why a request was refused (the `reason` label of cairn_auth_refusals_total). */
export type RefusalReason = 'missing_credentials' | 'bad_credentials' | 'expired_token' | 'forbidden' | 'rate_limited';

/** Where it was refused (the `surface` label). */
export type AuthSurface = 'native' | 'cluster' | 'nacos' | 'watch' | 'session' | 'metrics' | 'login' | 'rest';

export interface RefusalContext {
  readonly reason: RefusalReason;
  readonly surface: AuthSurface;
  readonly identity: Identity | null;
  readonly method?: string;
  /** The path only: query strings may carry passwords and tokens. */
  readonly path?: string;
  readonly action?: string;
  readonly namespace?: string;
  readonly remote?: string;
}

/** Refusal lines per second before the rest are only counted (a flood must not flood the log). */
const LOG_LINES_PER_S_MAX = 20;

/**
 * Counts every refusal by reason and surface (mirrored into Prometheus when scraped) and logs each
 * one with the identity, never a secret; past a rate, lines are summed into one instead.
 */
export class AuthRefusals {
  private readonly counts = new Map<string, { reason: RefusalReason; surface: AuthSurface; n: number }>();
  private windowStartMs = 0;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(private readonly log: FastifyBaseLogger) {}

  record(c: RefusalContext): void {
    const key = `${c.reason}|${c.surface}`;
    const entry = this.counts.get(key);
    if (entry) entry.n++;
    else this.counts.set(key, { reason: c.reason, surface: c.surface, n: 1 });
    const nowMs = Date.now();
    if (nowMs - this.windowStartMs >= 1000) {
      if (this.suppressed > 0)
        this.log.warn({ suppressed: this.suppressed }, 'auth: more refusals, not logged one by one');
      this.windowStartMs = nowMs;
      this.linesInWindow = 0;
      this.suppressed = 0;
    }
    if (this.linesInWindow >= LOG_LINES_PER_S_MAX) {
      this.suppressed++;
      return;
    }
    this.linesInWindow++;
    this.log.warn(
      {
        identity: identityLabel(c.identity),
        reason: c.reason,
        surface: c.surface,
        ...(c.method ? { method: c.method } : {}),
        ...(c.path ? { path: c.path } : {}),
        ...(c.action ? { action: c.action } : {}),
        ...(c.namespace ? { namespace: c.namespace } : {}),
        ...(c.remote ? { remote: c.remote } : {}),
      },
      'auth: request refused',
    );
  }

  /** Every (reason, surface) pair seen, with its count. */
  snapshot(): readonly (readonly [{ reason: RefusalReason; surface: AuthSurface }, number])[] {
    return [...this.counts.values()].map((e) => [{ reason: e.reason, surface: e.surface }, e.n] as const);
  }

  total(): number {
    let n = 0;
    for (const e of this.counts.values()) n += e.n;
    return n;
  }
}
