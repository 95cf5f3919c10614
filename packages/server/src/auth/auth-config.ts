import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CairnError, type FieldError } from '../errors.js';
import { type ParsedHash, parsePasswordHash } from './password-hash.js';
import { allowsSomewhere, type Role, rolesSchema } from './roles.js';
import { parseTokenHash, tokenDigest } from './static-tokens.js';

/**
 * The auth file (`cairn server --auth-file <path>`, and the federation's), JSON:
 *
 * ```json
 * { "tokenSecret": "<32+ characters>",        // or "tokenSecretFile": "token-secret.txt"
 *   "tokenTtlS": 18000,
 *   "metricsAuth": false,
 *   "loginRateLimit": { "max": 10, "windowMs": 60000 },
 *   "users":  [{ "username": "alice", "passwordHash": "scrypt$15$8$1$...", "roles": [{ "namespace": "*", "role": "admin" }] }],
 *   "tokens": [{ "name": "orders", "tokenHash": "sha256:<hex>", "roles": [{ "namespace": "public", "role": "write" }] }],
 *   "anonymous": [] }
 * ```
 *
 * Every zone replica and federation node given the same file accepts the same users, tokens and
 * access tokens (they are signed with the shared `tokenSecret`).
 */

const TOKEN_SECRET_CHARS_MIN = 32;

const nameOf = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.@-]{1,64}$/, `${what}: 1-64 letters, digits and _ . @ -`)
    .describe(what);

const passwordHashSchema = z.string().superRefine((v, ctx) => {
  try {
    parsePasswordHash(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const userSchema = z
  .object({ username: nameOf('username'), passwordHash: passwordHashSchema, roles: rolesSchema })
  .strict();

const tokenSchema = z
  .object({
    name: nameOf('token name'),
    tokenHash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits> (make one with `cairn hash-password --token`)')
      .optional(),
    token: z.string().min(16, 'must be at least 16 characters').max(1024).optional(),
    roles: rolesSchema,
  })
  .strict()
  .refine((t) => (t.tokenHash === undefined) !== (t.token === undefined), {
    message: 'give exactly one of tokenHash and token',
  });

export const authFileSchema = z
  .object({
    tokenSecret: z
      .string()
      .min(TOKEN_SECRET_CHARS_MIN, `must be at least ${TOKEN_SECRET_CHARS_MIN} characters`)
      .optional(),
    tokenSecretFile: z.string().min(1).optional(),
    tokenTtlS: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(18_000),
    /** Whether `/metrics` needs `read` on `*` (it is open otherwise). */
    metricsAuth: z.boolean().default(false),
    loginRateLimit: z
      .object({
        max: z.number().int().min(1).max(100_000).default(10),
        windowMs: z.number().int().min(1000).max(3_600_000).default(60_000),
      })
      .strict()
      .default({ max: 10, windowMs: 60_000 }),
    users: z.array(userSchema).max(10_000).default([]),
    tokens: z.array(tokenSchema).max(10_000).default([]),
    /** Roles of callers that send no credentials (none by default). */
    anonymous: rolesSchema.default([]),
  })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.tokenSecret === undefined) === (f.tokenSecretFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenSecret'],
        message: 'give exactly one of tokenSecret and tokenSecretFile',
      });
    }
    const seen = (list: readonly string[], field: string, what: string) => {
      const names = new Set<string>();
      list.forEach((n, i) => {
        if (names.has(n)) ctx.addIssue({ code: 'custom', path: [field, i], message: `${what} '${n}' appears twice` });
        names.add(n);
      });
    };
    seen(
      f.users.map((u) => u.username),
      'users',
      'user',
    );
    seen(
      f.tokens.map((t) => t.name),
      'tokens',
      'token',
    );
  });

export type AuthFile = z.output<typeof authFileSchema>;

export interface AuthUser {
  readonly username: string;
  readonly hash: ParsedHash;
  readonly roles: readonly Role[];
}

export interface AuthToken {
  readonly name: string;
  /** SHA-256 of the token. */
  readonly digest: Buffer;
  readonly roles: readonly Role[];
}

/** The auth file, validated and resolved. */
export interface AuthConfig {
  /** Where it came from (a path), for logs. */
  readonly source: string;
  readonly tokenSecret: Uint8Array;
  readonly tokenTtlS: number;
  readonly metricsAuth: boolean;
  readonly loginRateLimit: { readonly max: number; readonly windowMs: number };
  readonly users: ReadonlyMap<string, AuthUser>;
  readonly tokens: readonly AuthToken[];
  readonly anonymous: readonly Role[];
  /** Things an operator should fix but that do not stop the server (logged at start). */
  readonly warnings: readonly string[];
}

/** Reads and validates an auth file; throws VALIDATION_FAILED naming every problem. */
export function loadAuthFile(path: string): AuthConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw invalid(path, [{ field: 'authFile', message: `cannot read ${path} as JSON: ${(err as Error).message}` }]);
  }
  return parseAuthConfig(raw, { source: path, baseDir: dirname(resolve(path)) });
}

/** Validates an auth file's content; `baseDir` resolves a relative tokenSecretFile. */
export function parseAuthConfig(raw: unknown, opts: { source: string; baseDir: string }): AuthConfig {
  const parsed = authFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw invalid(
      opts.source,
      parsed.error.issues.map((i) => ({ field: ['auth', ...i.path].join('.'), message: i.message })),
    );
  }
  const f = parsed.data;
  const secret = f.tokenSecret ?? readSecretFile(resolve(opts.baseDir, f.tokenSecretFile ?? ''), opts.source);
  const warnings: string[] = [];
  const users = new Map<string, AuthUser>();
  for (const u of f.users)
    users.set(u.username, { username: u.username, hash: parsePasswordHash(u.passwordHash), roles: u.roles });
  const tokens: AuthToken[] = f.tokens.map((t) => {
    if (t.token !== undefined) {
      warnings.push(
        `token '${t.name}' is stored in plain text: store its tokenHash instead (cairn hash-password --token)`,
      );
    }
    return {
      name: t.name,
      digest: t.tokenHash ? parseTokenHash(t.tokenHash) : tokenDigest(t.token ?? ''),
      roles: t.roles,
    };
  });
  if (allowsSomewhere(f.anonymous, 'write'))
    warnings.push('anonymous callers may write: anyone who reaches the port can steer traffic');
  if (users.size === 0 && tokens.length === 0) warnings.push('the auth file defines no users and no tokens');
  return {
    source: opts.source,
    tokenSecret: new TextEncoder().encode(secret),
    tokenTtlS: f.tokenTtlS,
    metricsAuth: f.metricsAuth,
    loginRateLimit: f.loginRateLimit,
    users,
    tokens,
    anonymous: f.anonymous,
    warnings,
  };
}

function readSecretFile(path: string, source: string): string {
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw invalid(source, [
      { field: 'auth.tokenSecretFile', message: `cannot read ${path}: ${(err as Error).message}` },
    ]);
  }
  if (secret.length < TOKEN_SECRET_CHARS_MIN) {
    throw invalid(source, [
      { field: 'auth.tokenSecretFile', message: `${path} must hold at least ${TOKEN_SECRET_CHARS_MIN} characters` },
    ]);
  }
  return secret;
}

function invalid(source: string, fields: readonly FieldError[]): CairnError {
  return new CairnError('VALIDATION_FAILED', `invalid auth file ${source}`, fields);
}
