import { z } from 'zod';
import { nameSchema } from '../registry/model.js';

/**
 * Roles per namespace. `read` reads registry state (REST reads, long-polls, watches); `write`
 * registers, deregisters, renews and edits instances and services; `admin` manages namespaces, the
 * zone's membership and its traffic weight. Each role includes the ones below it.
 */
export const ROLE_NAMES = ['read', 'write', 'admin'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** Every namespace: a role on `*` applies to each namespace and to requests that span them all. */
export const ANY_NAMESPACE = '*';

export const roleSchema = z
  .object({
    namespace: z.union([z.literal(ANY_NAMESPACE), nameSchema]),
    role: z.enum(ROLE_NAMES),
  })
  .strict();
export type Role = z.output<typeof roleSchema>;

export const rolesSchema = z.array(roleSchema).max(1024);

const RANK: Readonly<Record<RoleName, number>> = { read: 1, write: 2, admin: 3 };

/**
 * Whether `roles` allow `action` on `namespace`. A request that spans every namespace (`*`) needs
 * the role on `*` itself: a role on one namespace never grants a view of all of them.
 */
export function allows(roles: readonly Role[], action: RoleName, namespace: string): boolean {
  const needed = RANK[action];
  for (const r of roles) {
    if (RANK[r.role] < needed) continue;
    if (r.namespace === ANY_NAMESPACE || r.namespace === namespace) return true;
  }
  return false;
}

/** Whether `roles` allow `action` in at least one namespace (what opening a socket requires). */
export function allowsSomewhere(roles: readonly Role[], action: RoleName): boolean {
  return roles.some((r) => RANK[r.role] >= RANK[action]);
}
