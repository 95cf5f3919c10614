import type { Role } from './roles.js';

/** Who a request comes from, once its credentials have been checked. */
export interface Identity {
  /** `token`: a static token from the auth file; `user`: a user's password or access token. */
  readonly kind: 'anonymous' | 'token' | 'user';
  /** The username or token name (never the secret); `anonymous` for anonymous callers. */
  readonly name: string;
  readonly roles: readonly Role[];
}

/** How an identity is written in logs: `user:alice`, `token:orders`, `anonymous`. */
export function identityLabel(identity: Identity | null): string {
  if (identity === null) return 'unknown';
  return identity.kind === 'anonymous' ? 'anonymous' : `${identity.kind}:${identity.name}`;
}

/** What a request presented, before it is checked. */
export interface Credentials {
  /** From `Authorization: Bearer`, or an `accessToken` parameter: a static token or an access token. */
  readonly bearer?: string;
  /** Nacos clients may send `username` and `password` on every request. */
  readonly username?: string;
  readonly password?: string;
  /** An Authorization header with another scheme (Basic...). */
  readonly unsupportedScheme?: boolean;
}

export function hasCredentials(c: Credentials): boolean {
  return c.bearer !== undefined || c.username !== undefined || c.unsupportedScheme === true;
}
