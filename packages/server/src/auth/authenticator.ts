import { createHmac, randomBytes } from 'node:crypto';
import { AccessTokens, looksLikeJwt } from './access-tokens.js';
import type { AuthConfig, AuthUser } from './auth-config.js';
import type { Credentials, Identity } from './identity.js';
import { PasswordGate } from './password-gate.js';
import { DEFAULT_SCRYPT_COST, type ParsedHash, verifyPassword } from './password-hash.js';
import { matchToken } from './static-tokens.js';

export type AuthFailureReason = 'bad_credentials' | 'expired_token';

export type Authentication =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly reason: AuthFailureReason; readonly message: string };

/** What every refusal of credentials says: nothing about which part was wrong. */
export const BAD_CREDENTIALS = 'the credentials were not accepted';
export const BAD_LOGIN = 'wrong username or password';

const USERNAME_CHARS_MAX = 64;
const PASSWORD_CHARS_MAX = 1024;
/** Verified username/password pairs kept so Nacos clients that send them on every request cost one scrypt. */
const PASSWORD_CACHE_MAX = 1024;
const PASSWORD_CACHE_TTL_MS = 60_000;

/**
 * Turns presented credentials into an identity: static tokens (compared against every stored
 * digest), access tokens (signature, then expiry), usernames with passwords (scrypt, bounded by the
 * password gate; an unknown user costs the same hash as a known one), or no credentials at all
 * (the anonymous roles).
 */
export class Authenticator {
  readonly accessTokens: AccessTokens;
  private readonly gate = new PasswordGate();
  /** Hashed for unknown usernames (at the cost of the file's users), so they take as long as known ones. */
  private readonly decoy: ParsedHash;
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Map<string, { readonly username: string; readonly untilMs: number }>();
  readonly anonymous: Identity;

  constructor(private readonly config: AuthConfig) {
    this.accessTokens = new AccessTokens(config.tokenSecret, config.tokenTtlS);
    this.anonymous = { kind: 'anonymous', name: 'anonymous', roles: config.anonymous };
    const cost = config.users.values().next().value?.hash.cost ?? DEFAULT_SCRYPT_COST;
    this.decoy = { cost, salt: randomBytes(16), hash: randomBytes(32) };
  }

  async authenticate(c: Credentials): Promise<Authentication> {
    if (c.unsupportedScheme)
      return { ok: false, reason: 'bad_credentials', message: 'send Authorization: Bearer <token>' };
    if (c.bearer !== undefined) return this.bearer(c.bearer);
    if (c.username !== undefined) {
      const user = await this.checkPassword(c.username, c.password ?? '');
      return user
        ? { ok: true, identity: userIdentity(user) }
        : { ok: false, reason: 'bad_credentials', message: BAD_CREDENTIALS };
    }
    return { ok: true, identity: this.anonymous };
  }

  /** A login: the user, or null for an unknown user and a wrong password alike. */
  async checkPassword(username: string, password: string): Promise<AuthUser | null> {
    if (username.length > USERNAME_CHARS_MAX || password.length > PASSWORD_CHARS_MAX) return null;
    const key = createHmac('sha256', this.cacheKey).update(username).update('\0').update(password).digest('base64url');
    const hit = this.verified.get(key);
    const nowMs = Date.now();
    if (hit && hit.untilMs > nowMs) return this.config.users.get(hit.username) ?? null;
    const user = this.config.users.get(username);
    const ok = await this.gate.run(() => verifyPassword(password, user?.hash ?? this.decoy));
    if (!user || !ok) return null;
    if (hit) this.verified.delete(key);
    if (this.verified.size >= PASSWORD_CACHE_MAX) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(key, { username, untilMs: nowMs + PASSWORD_CACHE_TTL_MS });
    return user;
  }

  private async bearer(token: string): Promise<Authentication> {
    const fixed = matchToken(this.config.tokens, token);
    if (fixed) return { ok: true, identity: { kind: 'token', name: fixed.name, roles: fixed.roles } };
    if (!looksLikeJwt(token)) return { ok: false, reason: 'bad_credentials', message: BAD_CREDENTIALS };
    const check = await this.accessTokens.verify(token);
    if (!check.ok) {
      return check.reason === 'expired'
        ? { ok: false, reason: 'expired_token', message: 'the access token has expired; log in again' }
        : { ok: false, reason: 'bad_credentials', message: BAD_CREDENTIALS };
    }
    const user = this.config.users.get(check.username);
    if (!user) return { ok: false, reason: 'bad_credentials', message: BAD_CREDENTIALS };
    return { ok: true, identity: userIdentity(user) };
  }
}

export function userIdentity(user: AuthUser): Identity {
  return { kind: 'user', name: user.username, roles: user.roles };
}
