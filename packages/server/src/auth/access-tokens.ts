import { errors, jwtVerify, SignJWT } from 'jose';

/**
 * Access tokens handed out at login: JWTs signed with HS256 and the auth file's `tokenSecret`, so
 * every replica and federation node sharing the file accepts them. They name the user only; roles
 * are read from the auth file when the token is used, so a user removed from the file loses access
 * at the next restart without waiting for the token to expire.
 */

const ISSUER = 'cairn';
const AUDIENCE = 'cairn';
const ALGORITHM = 'HS256';

export type TokenCheck =
  | { readonly ok: true; readonly username: string; readonly expiresAtMs: number }
  | { readonly ok: false; readonly reason: 'expired' | 'invalid' };

export class AccessTokens {
  constructor(
    private readonly secret: Uint8Array,
    readonly ttlS: number,
  ) {
    if (secret.length < 32) throw new Error('access tokens: the secret must be at least 32 bytes');
    if (!(Number.isInteger(ttlS) && ttlS >= 1)) throw new Error(`access tokens: bad ttl ${ttlS}`);
  }

  async issue(username: string, nowMs = Date.now()): Promise<{ token: string; expiresInS: number }> {
    const nowS = Math.floor(nowMs / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(username)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + this.ttlS)
      .sign(this.secret);
    return { token, expiresInS: this.ttlS };
  }

  /** Checks the signature first: only a token this secret signed can be called expired. */
  async verify(token: string): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return { ok: false, reason: 'invalid' };
      return { ok: true, username: payload.sub, expiresAtMs: payload.exp * 1000 };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
      if (err instanceof errors.JOSEError) return { ok: false, reason: 'invalid' };
      throw err;
    }
  }
}

/** Whether a string has the shape of a JWT (three base64url parts). Static tokens are matched first. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}
