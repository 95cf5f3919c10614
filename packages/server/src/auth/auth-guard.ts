import type { FastifyBaseLogger, FastifyRequest, onRequestHookHandler } from 'fastify';
import { CairnError } from '../errors.js';
import type { AuthConfig } from './auth-config.js';
import { AuthRefusals, type AuthSurface, type RefusalReason } from './auth-refusals.js';
import { type Authentication, Authenticator, BAD_LOGIN, userIdentity } from './authenticator.js';
import { type Credentials, type Identity, identityLabel } from './identity.js';
import { ANY_NAMESPACE, allows, allowsSomewhere, type RoleName } from './roles.js';
import { bearerFromSubprotocols } from './socket-credentials.js';

/** What a push socket may do, decided once at its upgrade and checked per message. */
export interface SocketAccess {
  /** Null when authentication is off. */
  readonly identity: Identity | null;
  /** Throws FORBIDDEN (counted and logged) unless the socket's identity may `action` in `namespace`. */
  require(action: RoleName, namespace: string): void;
}

/** Everything allowed: authentication is off. */
export const OPEN_SOCKET_ACCESS: SocketAccess = { identity: null, require: () => {} };

export interface LoginResult {
  readonly identity: Identity;
  readonly accessToken: string;
  readonly expiresInS: number;
}

interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly remote: string;
}

/**
 * The one place that decides: resolves a request's identity once (memoized per request), checks a
 * role per namespace, logs in users, and turns every refusal into a counted, logged 401 or 403
 * that says nothing an attacker could use.
 */
export class AuthGuard {
  readonly authenticator: Authenticator;
  readonly refusals: AuthRefusals;
  private readonly identities = new WeakMap<FastifyRequest, Promise<Authentication>>();
  private readonly counted = new WeakSet<FastifyRequest>();
  /** The per-IP login rate limit every login route runs first (set by the auth plugin). */
  limitLogins: onRequestHookHandler | null = null;

  constructor(
    readonly config: AuthConfig,
    log: FastifyBaseLogger,
  ) {
    this.authenticator = new Authenticator(config);
    this.refusals = new AuthRefusals(log.child({ component: 'auth' }));
  }

  /** The request's identity (anonymous without credentials); 401 for credentials that do not hold. */
  async identify(req: FastifyRequest, surface: AuthSurface): Promise<Identity> {
    let pending = this.identities.get(req);
    if (!pending) {
      pending = this.authenticator.authenticate(credentialsOf(req));
      this.identities.set(req, pending);
    }
    const a = await pending;
    if (a.ok) return a.identity;
    throw this.refuse(req, { reason: a.reason, surface, identity: null }, a.message);
  }

  /** Whether credentials were presented in the headers or the query string (readable before the body). */
  presentsCredentialsEarly(req: FastifyRequest): boolean {
    return (
      req.headers.authorization !== undefined ||
      bearerFromSubprotocols(req.headers['sec-websocket-protocol']) !== undefined ||
      queryOf(req).has('accessToken')
    );
  }

  /** The identity, if it may `action` in every one of `namespaces`; else a 401 or 403. */
  async authorize(
    req: FastifyRequest,
    surface: AuthSurface,
    action: RoleName,
    namespaces: readonly string[],
  ): Promise<Identity> {
    const identity = await this.identify(req, surface);
    const refused = refusalOf(identity, surface, action, namespaces);
    if (refused) {
      throw this.refuse(
        req,
        { reason: refused.reason, surface, identity, action, namespace: refused.namespace },
        refused.message,
      );
    }
    return identity;
  }

  /**
   * Authenticates a push socket's upgrade. A watch needs `read` somewhere and a session `write`
   * somewhere (opening a session commits to the log); what each subscription or registration touches
   * is checked per message with `require`.
   */
  async socketAccess(req: FastifyRequest, surface: 'watch' | 'session'): Promise<SocketAccess> {
    const identity = await this.identify(req, surface);
    const needed: RoleName = surface === 'session' ? 'write' : 'read';
    if (!allowsSomewhere(identity.roles, needed)) {
      const anonymous = identity.kind === 'anonymous';
      throw this.refuse(
        req,
        { reason: anonymous ? 'missing_credentials' : 'forbidden', surface, identity, action: needed },
        anonymous ? missingMessage(surface) : `${identityLabel(identity)} may not ${needed} in any namespace`,
      );
    }
    const facts = factsOf(req);
    return {
      identity,
      require: (action, namespace) => {
        const refused = refusalOf(identity, surface, action, [namespace]);
        if (!refused) return;
        this.refusals.record({ reason: refused.reason, surface, identity, action, namespace, ...facts });
        throw new CairnError(refused.reason === 'forbidden' ? 'FORBIDDEN' : 'UNAUTHENTICATED', refused.message);
      },
    };
  }

  /** A login; an unknown user and a wrong password get the same answer, in about the same time. */
  async login(req: FastifyRequest, username: string, password: string): Promise<LoginResult> {
    const user = await this.authenticator.checkPassword(username, password);
    if (!user) throw this.refuse(req, { reason: 'bad_credentials', surface: 'login', identity: null }, BAD_LOGIN);
    const { token, expiresInS } = await this.authenticator.accessTokens.issue(user.username);
    return { identity: userIdentity(user), accessToken: token, expiresInS };
  }

  /** Counts a login refused for its rate. */
  rateLimited(req: FastifyRequest): void {
    this.refusals.record({ reason: 'rate_limited', surface: 'login', identity: null, ...factsOf(req) });
  }

  /** Records a refusal (once per request) and returns the error to throw. */
  private refuse(
    req: FastifyRequest,
    c: { reason: RefusalReason; surface: AuthSurface; identity: Identity | null; action?: string; namespace?: string },
    message: string,
  ): CairnError {
    if (!this.counted.has(req)) {
      this.counted.add(req);
      this.refusals.record({ ...c, ...factsOf(req) });
    }
    return new CairnError(c.reason === 'forbidden' ? 'FORBIDDEN' : 'UNAUTHENTICATED', message);
  }
}

function refusalOf(
  identity: Identity,
  surface: AuthSurface,
  action: RoleName,
  namespaces: readonly string[],
): { reason: RefusalReason; namespace: string; message: string } | null {
  for (const namespace of namespaces.length > 0 ? namespaces : [ANY_NAMESPACE]) {
    if (allows(identity.roles, action, namespace)) continue;
    if (identity.kind === 'anonymous') {
      return { reason: 'missing_credentials', namespace, message: missingMessage(surface) };
    }
    const where = namespace === ANY_NAMESPACE ? 'across all namespaces' : `in namespace '${namespace}'`;
    return { reason: 'forbidden', namespace, message: `${identityLabel(identity)} may not ${action} ${where}` };
  }
  return null;
}

function missingMessage(surface: AuthSurface): string {
  return surface === 'nacos'
    ? 'this request needs credentials: log in and send accessToken'
    : 'this request needs credentials: send Authorization: Bearer <token>';
}

function factsOf(req: FastifyRequest): RequestFacts {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  return { method: req.method, path: q >= 0 ? url.slice(0, q) : url, remote: req.ip };
}

function queryOf(req: FastifyRequest): URLSearchParams {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
}

/** Nacos clients send credentials as parameters (query string or form body) on any request. */
function isNacos(req: FastifyRequest): boolean {
  return (req.raw.url ?? '').startsWith('/nacos/');
}

/**
 * What the request presents: `Authorization: Bearer` first; else, on a WebSocket upgrade, a
 * `cairn.bearer.<base64url(token)>` subprotocol entry (the admin UI's: browsers cannot set headers
 * on a WebSocket; see socket-credentials.ts); else an `accessToken` parameter (Nacos, and other
 * browser clients); else, for Nacos, `username` + `password`. The query string comes before a form
 * body, as a servlet reads parameters.
 */
export function credentialsOf(req: FastifyRequest): Credentials {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '') {
    const m = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
    return m?.[1] ? { bearer: m[1] } : { unsupportedScheme: true };
  }
  // A malformed entry reads as '', a token that never holds: refused, never taken as anonymous.
  const fromSubprotocol = bearerFromSubprotocols(req.headers['sec-websocket-protocol']);
  if (fromSubprotocol !== undefined) return { bearer: fromSubprotocol };
  const query = queryOf(req);
  const body = req.body instanceof URLSearchParams ? req.body : null;
  const param = (name: string): string | undefined => {
    const v = query.get(name) ?? body?.get(name) ?? undefined;
    return v === undefined || v === '' ? undefined : v;
  };
  const accessToken = param('accessToken');
  if (accessToken !== undefined) return { bearer: accessToken };
  if (isNacos(req)) {
    const username = param('username');
    if (username !== undefined) return { username, password: param('password') ?? '' };
  }
  return {};
}
