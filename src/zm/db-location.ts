import { statSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * Where MariaDB/MySQL clients look for the server's socket when told `localhost`: Debian and
 * Ubuntu, then Red Hat and its relatives, then the compiled-in default of old builds.
 */
export const USUAL_SOCKETS: readonly string[] = ['/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock', '/var/lib/mysql/mysql.sock', '/tmp/mysql.sock'];

export type DbLocation =
  | { readonly kind: 'socket'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export interface ResolvedLocation {
  readonly location: DbLocation;
  /** Said once at startup when the choice is not obvious from the settings. */
  readonly note?: string;
}

/**
 * The rule of every MySQL/MariaDB client, ZoneMinder's included: `localhost` means the unix
 * socket, any other host (127.0.0.1 too) means TCP. So a stock ZoneMinder's
 * `ZM_DB_HOST=localhost` with its `'zmuser'@'localhost'` account works as it does for
 * ZoneMinder. Without any socket to be found, `localhost` falls back to TCP, saying so.
 */
export function resolveDbLocation(
  settings: { readonly host: string; readonly port: number; readonly socket?: string | null | undefined },
  isSocket: (path: string) => boolean = socketExists,
  candidates: readonly string[] = USUAL_SOCKETS,
): ResolvedLocation {
  if (settings.socket) return { location: { kind: 'socket', path: settings.socket } };
  if (settings.host.toLowerCase() !== 'localhost') return { location: { kind: 'tcp', host: settings.host, port: settings.port } };
  const found = candidates.find((path) => isSocket(path));
  if (found !== undefined) return { location: { kind: 'socket', path: found } };
  return {
    location: { kind: 'tcp', host: settings.host, port: settings.port },
    note: `database.host is localhost but no MariaDB socket was found (looked in ${candidates.join(', ')}); connecting over TCP to localhost:${settings.port} instead (set database.socket if the server has its socket elsewhere)`,
  };
}

function socketExists(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

export function describeLocation(location: DbLocation): string {
  return location.kind === 'socket' ? location.path : `${location.host}:${location.port}`;
}

/**
 * The advice to add to an access-denied error, from the account the server says it saw
 * (`'zmuser'@'127.0.0.1'`). The usual trap: ZoneMinder's installer grants `'zmuser'@'localhost'`,
 * which MariaDB matches only for socket connections, and a TCP login from 127.0.0.1 is refused
 * although the password is right (always with skip_name_resolve).
 */
export function accessDeniedAdvice(serverMessage: string, location: DbLocation): string {
  const seen = /for user '([^']*)'@'([^']*)'/.exec(serverMessage);
  const account = seen ? `'${seen[1]}'@'${seen[2]}'` : undefined;
  const prefix = account ? `the server saw the login as ${account}` : 'the server refused the login';
  if (location.kind === 'tcp' && isLoopback(location.host)) {
    return (
      `${prefix}. If the account exists only as '…'@'localhost' (ZoneMinder's installer creates it so), MariaDB accepts it only over the unix socket: ` +
      'set database.host to localhost (zmes then uses the socket, like ZoneMinder) or set database.socket; otherwise check the user and password'
    );
  }
  return `${prefix}: check the database name, user and password, and that this account may connect from this host`;
}

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
