/**
 * An absolute URL for a deployment host: Vercel answers a bare host ("app-abc.vercel.app").
 * An explicit scheme is kept; loopback hosts (the sandbox) get http://, everything else https://.
 */
export function deploymentUrl(hostOrUrl: string): string {
  const trimmed = hostOrUrl.trim().replace(/\/+$/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return trimmed;
  const host = trimmed.split('/')[0];
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  const loopback =
    hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]';
  return `${loopback ? 'http' : 'https'}://${trimmed}`;
}

/** Joins a base URL and an absolute path without doubling slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
