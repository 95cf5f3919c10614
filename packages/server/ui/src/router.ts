import type { ServiceRef } from './backend.js';

/**
 * Client-side routes live in the URL's hash (`#/services/public/DEFAULT_GROUP/orders`), so every
 * page has a link that survives a reload and the server serves one file for all of them.
 */

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'services' }
  | { readonly page: 'service'; readonly ref: ServiceRef }
  | { readonly page: 'traffic' }
  | { readonly page: 'not-found'; readonly path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(safeDecode);
  if (parts.length === 0) return { page: 'overview' };
  const [first, namespace, group, service, ...rest] = parts;
  if (first === 'services' && parts.length === 1) return { page: 'services' };
  if (first === 'services' && namespace && group && service && rest.length === 0) {
    return { page: 'service', ref: { namespace, group, service } };
  }
  if (first === 'traffic' && parts.length === 1) return { page: 'traffic' };
  return { page: 'not-found', path };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'services':
      return '#/services';
    case 'service':
      return `#/services/${[route.ref.namespace, route.ref.group, route.ref.service].map(encodeURIComponent).join('/')}`;
    case 'traffic':
      return '#/traffic';
    case 'not-found':
      return `#${route.path}`;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
