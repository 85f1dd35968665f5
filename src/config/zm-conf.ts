import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errorMessage } from '../errors.js';
import { readTextIfExists } from '../state/text-file.js';

/**
 * ZoneMinder's own configuration (zm.conf, then conf.d/*.conf in name order, later files
 * winning). zmes takes the database location and credentials from it, as the classic
 * server did through ZoneMinder's Perl modules.
 */

export interface ZmConfParse {
  readonly values: Map<string, string>;
  /** 1-based numbers of lines that are neither blank, comments nor KEY=VALUE. */
  readonly badLines: number[];
}

/**
 * Parses zm.conf syntax the way ZoneMinder reads it: `KEY=VALUE` lines, whole-line `#`
 * comments, names upper-cased, quotes around the value dropped (ZoneMinder strips any
 * run of quote characters at both ends), no inline comments.
 */
export function parseZmConf(text: string): ZmConfParse {
  const values = new Map<string, string>();
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      badLines.push(index + 1);
      return;
    }
    const [, name = '', value = ''] = match;
    values.set(name.toUpperCase(), value.replace(/^['"]+/, '').replace(/['"]+$/, '').trim());
  });
  return { values, badLines };
}

export interface ZmDatabaseSettings {
  host?: string;
  port?: number;
  socket?: string;
  name?: string;
  user?: string;
  password?: string;
}

/** The location ZM_DB_HOST describes: `host`, `host:port`, `[v6]:port` or `host:/path/to.sock`. */
export function parseZmDbHost(value: string): { host: string; port?: number; socket?: string } | null {
  const text = value.trim();
  if (text === '') return null;
  if (text.startsWith('/')) return { host: 'localhost', socket: text };
  let host = text;
  let rest: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  const colon = text.indexOf(':');
  if (bracketed) {
    host = bracketed[1] ?? '';
    rest = bracketed[2];
  } else if (colon > 0 && (text[colon + 1] === '/' || text.indexOf(':', colon + 1) < 0)) {
    // One colon, or a socket path after the first one; more colons mean a bare IPv6 address.
    host = text.slice(0, colon);
    rest = text.slice(colon + 1);
  }
  if (host === '') return null;
  if (rest === undefined || rest === '') return { host };
  if (rest.startsWith('/')) return { host, socket: rest };
  if (/^\d{1,5}$/.test(rest) && Number(rest) >= 1 && Number(rest) <= 65535) return { host, port: Number(rest) };
  return null;
}

/** Maps ZM_DB_* values to database settings; malformed ones are reported, not used. */
export function zmDatabaseSettings(values: ReadonlyMap<string, string>): { settings: ZmDatabaseSettings; warnings: string[] } {
  const settings: ZmDatabaseSettings = {};
  const warnings: string[] = [];
  const hostText = values.get('ZM_DB_HOST');
  if (hostText !== undefined && hostText !== '') {
    const location = parseZmDbHost(hostText);
    if (location === null) warnings.push(`zm.conf: ZM_DB_HOST ${JSON.stringify(hostText)} is not host, host:port or host:/socket; ignored`);
    else Object.assign(settings, location);
  }
  const portText = values.get('ZM_DB_PORT');
  if (portText !== undefined && portText !== '') {
    const port = Number(portText);
    // An explicit ZM_DB_PORT wins over a port given in ZM_DB_HOST.
    if (/^\d{1,5}$/.test(portText) && port >= 1 && port <= 65535) settings.port = port;
    else warnings.push(`zm.conf: ZM_DB_PORT ${JSON.stringify(portText)} is not a port number; ignored`);
  }
  const socketText = values.get('ZM_DB_SOCKET');
  if (socketText !== undefined && socketText !== '') {
    if (socketText.startsWith('/')) settings.socket = socketText;
    else warnings.push(`zm.conf: ZM_DB_SOCKET ${JSON.stringify(socketText)} is not an absolute path; ignored`);
  }
  const copy = (name: string, field: 'name' | 'user' | 'password') => {
    const value = values.get(name);
    if (value !== undefined && value !== '') settings[field] = value;
  };
  copy('ZM_DB_NAME', 'name');
  copy('ZM_DB_USER', 'user');
  copy('ZM_DB_PASS', 'password');
  return { settings, warnings };
}

export interface ZmConf {
  readonly values: Map<string, string>;
  /** The files actually read, in order. */
  readonly files: string[];
  readonly warnings: string[];
}

/**
 * Reads zm.conf and the conf.d folder next to it. Missing files are normal (zmes may run
 * far from ZoneMinder) and give no warning; unreadable ones and bad lines do.
 */
export function readZmConf(path: string): ZmConf {
  const values = new Map<string, string>();
  const files: string[] = [];
  const warnings: string[] = [];
  const readOne = (file: string) => {
    let text: string | null;
    try {
      text = readTextIfExists(file);
    } catch (err) {
      warnings.push(`cannot read ${file}: ${errorMessage(err)}`);
      return;
    }
    if (text === null) return;
    files.push(file);
    const parsed = parseZmConf(text);
    for (const [name, value] of parsed.values) values.set(name, value);
    for (const line of parsed.badLines) warnings.push(`${file}, line ${line}: not KEY=VALUE; ignored`);
  };
  readOne(path);
  const confDir = join(dirname(path), 'conf.d');
  let names: string[] = [];
  try {
    names = readdirSync(confDir).filter((name) => name.endsWith('.conf'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') warnings.push(`cannot read ${confDir}: ${errorMessage(err)}`);
  }
  for (const name of names.sort()) readOne(join(confDir, name));
  return { values, files, warnings };
}
