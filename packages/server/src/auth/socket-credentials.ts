/**
 * The credential a browser presents on a WebSocket. Browsers cannot set headers on a WebSocket, so
 * the admin UI offers its token as a second subprotocol after the protocol's own name:
 * `Sec-WebSocket-Protocol: cairn.v1, cairn.bearer.<base64url(token)>` (ui/src/auth-token.ts).
 * The server reads the token from there (auth-guard.ts) and answers with `cairn.v1` only: the
 * token is never echoed back (`chooseSubprotocol`, the `handleProtocols` of every cairn socket server).
 */

/** The watch protocol's subprotocol name, the one the server answers with. */
export const WATCH_SUBPROTOCOL = 'cairn.v1';
/** The prefix of the subprotocol entry that carries a token. */
export const BEARER_SUBPROTOCOL_PREFIX = 'cairn.bearer.';

/** Longer entries are not tokens (static tokens are at most 1 KiB, access tokens well under 2 KiB). */
const ENCODED_CHARS_MAX = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The token in an upgrade's `Sec-WebSocket-Protocol` header: undefined when no entry carries one;
 * `''` (a credential that never holds, so it is refused rather than taken as anonymous) when an entry
 * is malformed or several are offered.
 */
export function bearerFromSubprotocols(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const entries = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (entries.length === 0) return undefined;
  if (entries.length > 1) return '';
  const encoded = entries[0]!.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  if (encoded.length === 0 || encoded.length > ENCODED_CHARS_MAX || !BASE64URL.test(encoded)) return '';
  const bytes = Buffer.from(encoded, 'base64url');
  // Only the canonical encoding (no stray trailing bits) of a UTF-8 text is a token.
  if (bytes.toString('base64url') !== encoded) return '';
  try {
    const token = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // As from `Authorization: Bearer <token>`: no whitespace, no control characters.
    return /^[^\s\p{Cc}]+$/u.test(token) ? token : '';
  } catch {
    return '';
  }
}

/**
 * ws's `handleProtocols`: answers `cairn.v1` when offered; otherwise the first offered entry that
 * is not a credential; otherwise none. A `cairn.bearer.*` entry is never echoed.
 */
export function chooseSubprotocol(offered: ReadonlySet<string>): string | false {
  if (offered.has(WATCH_SUBPROTOCOL)) return WATCH_SUBPROTOCOL;
  for (const p of offered) if (!p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return p;
  return false;
}
