import { DEFAULT_GROUP, DEFAULT_NAMESPACE, nameSchema } from '../../registry/model.js';
import { badRequest, type NacosParams } from './nacos-params.js';

/** Nacos's separator between group and service in a grouped service name. */
export const GROUP_SEPARATOR = '@@';

export interface NacosServiceName {
  readonly group: string;
  readonly service: string;
  /** `group@@service`, as Nacos names a service on the wire. */
  readonly grouped: string;
}

/**
 * The service a request names, the way Nacos's ServiceNameFilter and NamingUtils read it: a
 * `serviceName` without `@@` belongs to `groupName` (default DEFAULT_GROUP); `g@@s` names its group
 * itself (and `groupName` is then ignored); `@@s` and `g@@` are refused.
 */
export function serviceNameOf(params: NacosParams): NacosServiceName {
  const raw = params.required('serviceName').trim();
  const combined = raw.includes(GROUP_SEPARATOR)
    ? raw
    : `${params.optional('groupName', DEFAULT_GROUP)}${GROUP_SEPARATOR}${raw}`;
  return parseGroupedName(combined);
}

/** NamingUtils.checkServiceNameFormat, then cairn's own name rules for each part. */
export function parseGroupedName(combined: string): NacosServiceName {
  const parts = javaSplit(combined, GROUP_SEPARATOR);
  if (parts.length <= 1) {
    throw badRequest("Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'");
  }
  if (parts[0] === '') throw badRequest("Param 'serviceName' is illegal, groupName can't be empty");
  const sep = combined.indexOf(GROUP_SEPARATOR);
  const group = combined.slice(0, sep);
  const service = combined.slice(sep + GROUP_SEPARATOR.length);
  checkName('groupName', group);
  checkName('serviceName', service);
  return { group, service, grouped: `${group}${GROUP_SEPARATOR}${service}` };
}

/** `namespaceId`, blank meaning the public namespace (Nacos 2.x also names it ""). */
export function namespaceOf(params: NacosParams): string {
  const ns = params.optional('namespaceId', DEFAULT_NAMESPACE).trim();
  checkName('namespaceId', ns);
  return ns;
}

function checkName(param: string, value: string): void {
  const r = nameSchema.safeParse(value);
  if (!r.success) {
    throw badRequest(`Param '${param}' is illegal, '${value}' ${r.error.issues[0]?.message ?? 'is not a valid name'}`);
  }
}

/** Java's String.split with a literal separator: trailing empty strings are dropped. */
export function javaSplit(value: string, separator: string): string[] {
  const parts = value.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}
