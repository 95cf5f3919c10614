import { DEFAULT_NAMESPACE } from '../../registry/model.js';

/** Nacos's namespace quota and types (0 the global public namespace, 2 a custom one). */
const QUOTA = 200;
const TYPE_GLOBAL = 0;
const TYPE_CUSTOM = 2;

/** What the console shows of a namespace (a zone's or the federation's merged one). */
interface NamespaceLike {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

/** Nacos 2.x's "" is cairn's `public`. */
export function storedNamespaceId(id: string): string {
  return id === '' ? DEFAULT_NAMESPACE : id;
}

/** A namespace as the Nacos console lists it (public shown with id "", as Nacos 2.x does). */
export function consoleNamespaceView(ns: NamespaceLike): Record<string, unknown> {
  const isPublic = ns.id === DEFAULT_NAMESPACE;
  return {
    namespace: isPublic ? '' : ns.id,
    namespaceShowName: ns.name,
    namespaceDesc: ns.description,
    quota: QUOTA,
    configCount: 0,
    type: isPublic ? TYPE_GLOBAL : TYPE_CUSTOM,
  };
}

/** `GET /nacos/v1/console/namespaces`: every namespace, public first. */
export function consoleNamespaceListJson(all: readonly NamespaceLike[]): string {
  const data = [...all.filter((n) => n.id === DEFAULT_NAMESPACE), ...all.filter((n) => n.id !== DEFAULT_NAMESPACE)].map(
    consoleNamespaceView,
  );
  return JSON.stringify({ code: 200, message: null, data });
}
