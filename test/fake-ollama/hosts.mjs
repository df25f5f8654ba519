// The real server's Host-header check: a server bound to loopback answers 403 to a request whose
// Host is not local, which blocks DNS-rebinding attacks from web pages.

import net from 'node:net';
import os from 'node:os';

function hostnameOf(hostHeader) {
  if (hostHeader.startsWith('[')) {
    return hostHeader.slice(1, hostHeader.indexOf(']'));
  }

  const colon = hostHeader.indexOf(':');
  return colon >= 0 && colon === hostHeader.lastIndexOf(':') ? hostHeader.slice(0, colon) : hostHeader;
}

function isLocalIpv4(address) {
  const [first, second] = address.split('.').map(Number);
  return (
    first === 127 ||
    first === 10 ||
    (first === 172 && second >= 16 && second <= 31) ||
    (first === 192 && second === 168) ||
    address === '0.0.0.0'
  );
}

function isLocalIpv6(address) {
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '::') {
    return true;
  }

  if (lower.startsWith('::ffff:') && net.isIPv4(lower.slice('::ffff:'.length))) {
    return isLocalIpv4(lower.slice('::ffff:'.length));
  }

  return /^f[cd][0-9a-f]{0,2}:/.test(lower);
}

function isInterfaceAddress(address) {
  return Object.values(os.networkInterfaces())
    .flat()
    .some((info) => info?.address.toLowerCase() === address.toLowerCase());
}

/**
 * Returns true when the real server would accept this Host header: empty, `localhost`, the
 * machine's hostname, a name under .localhost, .local or .internal, or a loopback, private,
 * unspecified or own-interface IP address.
 */
export function isAllowedHost(hostHeader = '') {
  const host = hostnameOf(hostHeader).toLowerCase();
  if (host === '' || host === 'localhost' || host === os.hostname().toLowerCase()) {
    return true;
  }

  if (['.localhost', '.local', '.internal'].some((suffix) => host.endsWith(suffix))) {
    return true;
  }

  if (net.isIPv4(host)) {
    return isLocalIpv4(host) || isInterfaceAddress(host);
  }

  if (net.isIPv6(host)) {
    return isLocalIpv6(host) || isInterfaceAddress(host);
  }

  return false;
}
