/**
 * ZoneMinder's own PHP web UI and API (from Debian's `zoneminder` package, the copy the schema is
 * taken from) served by a private Apache on loopback, on a throwaway ZoneMinder database: for tests
 * of zmes' ZoneMinder API client against the real thing.
 *
 *   const db = await createZmTestDatabase();
 *   const zm = await startZmWeb({ db });
 *   t.after(async () => { await zm.stop(); await db.drop(); });
 *   await insertZmUser(db.execute, { username: 'alice', passwordHash: await zmPasswordHash('pw', 'bcrypt-2y') });
 *   await fetch(`${zm.apiUrl}/host/login.json`, { method: 'POST', body: new URLSearchParams({ user: 'alice', pass: 'pw' }) });
 *
 * How it is put together (nothing is written outside its temporary folder and the test database;
 * /etc/zm is never read or written):
 * - The package's web tree (usr/share/zoneminder/www) is hard-linked into the folder (copied when
 *   the cache is on another file system). Symbolic links would not do: PHP resolves `__DIR__`
 *   through them and the web code includes its files relative to `__DIR__`, so a linked file would
 *   include the unpatched originals. Patched files are written as new files, never through a link,
 *   so the cached package stays intact (and when the tests run as root, the web server's user
 *   cannot write the linked files).
 * - PATCHES (each must apply exactly, or the fixture fails): ZoneMinder hard-codes /etc/zm/zm.conf
 *   and /etc/zm/conf.d (includes/config.php and api/app/Config/bootstrap.php), /tmp/zm and
 *   /var/cache/zoneminder (includes/config.php) and /var/log/zm (the API's CakePHP logs): they
 *   point into the folder. Two symbolic links of the package are replaced by what Debian's postinst
 *   and tmpfiles put behind them: api/app/Config/core.php (→ /etc/zm/core.php, which postinst
 *   generates from core.php.default with a random salt and cipher seed) and api/app/tmp
 *   (→ /var/cache/zoneminder/temp, CakePHP's writable folder).
 * - zm.conf and conf.d/*.conf: the package's files with the database, the paths (bin, events,
 *   sockets, logs, temp …) and the web user replaced.
 * - The database: a user with the privileges README.Debian grants `zmuser`; the Config values of
 *   configValues() (as an admin would set them in Options); every Storage row's Path → eventsDir.
 *   1.36's zm_create.sql fills Config (227 rows), so the fixture only changes values, and fails
 *   when a row is missing (the 1.38/master create scripts leave Config empty; the PHP, which
 *   defines a constant per row, cannot run on such a database).
 * - Apache: Debian's apache2 + libapache2-mod-php (prefork), `apache2 -f <generated conf>
 *   -DFOREGROUND` on 127.0.0.1:<free port>, with the package's conf-available/zoneminder.conf
 *   (paths moved into the folder: portal /zm, API /zm/api, /zm/cache, /zm/cgi-bin) and the API's
 *   rewrite rules from the package's examples/apache.conf. Debian ships no .htaccess files; that
 *   example says "the following directives have been migrated from the default .htaccess files".
 * - `zmu` (ZM_PATH_BIN/zmu, run by the API's monitors/alarm): no capture daemon runs in tests, so
 *   the real zmu cannot work. A stand-in takes its place (allowed for this fixture): it appends its
 *   arguments to a file (zmuCalls()) and asks this process what to print, which emulates 1.36.33's
 *   zmu talking to a running capture daemon (ZmuEmulator below). The web UI's daemon check runs
 *   ZM_PATH_BIN/zmdc.pl, which is absent: "sh: 1: …/zmdc.pl: not found" in Apache's error log, and
 *   the UI takes ZoneMinder for stopped, as with a real zmdc.pl and no daemons.
 *
 * Only the 1.36 schema (the package's own) is supported: the 1.36 PHP reads 1.36 columns.
 *
 * One fixture per database: it owns the database's Config (secret, switches) and Storage paths.
 * Stray processes: Apache runs in its own process group (stopping, it signals its whole group);
 * a test process that exits without stop() sends it SIGTERM, and the next startZmWeb() removes
 * folders (and their Apache) left by test processes that died.
 *
 * OBSERVED on ZoneMinder 1.36.33+dfsg1-1 (Debian 12: PHP 8.2.36, Apache 2.4.71), asserted by
 * test/integration/zm-web.test.ts. API answers are `application/json; charset=UTF-8`, compact JSON.
 * API errors all have this shape (CakePHP, debug off); `name`/`message` are HTML-escaped (h()),
 * `exception.message` is not, `url` is the request path with its query string (& as &amp;):
 *   {"success":false,"data":{"name":N,"message":N,"url":"\/zm\/api\/…","exception":{"class":"UnauthorizedException","code":401,"message":M}}}
 *
 * POST /zm/api/host/login.json, form user=alice&pass=s3cret (a query string works too):
 *   200 {"access_token":"<jwt>","access_token_expires":7200,"refresh_token":"<jwt>","refresh_token_expires":86400,
 *        "credentials":"auth=","append_password":0,"version":"1.36.33","apiversion":"2.0"}
 *   JWT header {"typ":"JWT","alg":"HS256"}, payload {"iss":"ZoneMinder","iat":<now>,"exp":<now+7200>,"user":"alice","type":"access"};
 *   the refresh token: exp now+86400, "type":"refresh". credentials/append_password only with
 *   ZM_OPT_USE_LEGACY_API_AUTH=1, and the auth= hash stays empty without stateful=1 (no session).
 * login errors (401, name = exception.message unless noted):
 *   wrong password      "Login denied for user &quot;alice&quot;" (exception.message: Login denied for user "alice")
 *   unknown user        "Could not retrieve user mallory details"
 *   no user/pass/token  "Not Authenticated"
 *   user APIEnabled=0   "API disabled for: alice" (also on any request with that user's token)
 * POST login.json token=<refresh token>:
 *   200 {"access_token":"<jwt>","access_token_expires":7200,"credentials":"auth=","append_password":0,"version":"1.36.33","apiversion":"2.0"}
 *   (no new refresh token). token=<access token> there: 401 "Incorrect token type".
 * GET /zm/api/host/getVersion.json?token=…: 200 {"version":"1.36.33","apiversion":"2.0"}
 * GET /zm/api/monitors.json?token=<access>:
 *   200 {"monitors":[{"Monitor":{"Id":1,"Name":"Front","Function":"Modect","Enabled":1,…},
 *        "Monitor_Status":{"MonitorId":1,"Status":"Connected","CaptureFPS":"0.00","AnalysisFPS":"0.00","CaptureBandwidth":0},
 *        "Event_Summary":{"MonitorId":null,"TotalEvents":null,…}}]}
 *   (PHP 8's PDO returns integer columns as numbers, decimals as strings). 401 errors:
 *   no token "Not Authenticated"; refresh token "Incorrect token type"; not a JWT "Wrong number of
 *   segments"; other key "Signature verification failed"; expired "Expired token"; iat <
 *   Users.TokenMinExpiry "Token revoked. Please re-generate"; user Monitors='None' "Insufficient Privileges".
 * GET /zm/index.php?view=image&eid=<id>&fid=snapshot|alarm|objdetect&token=<access or refresh>:
 *   200 image/jpeg, the file's bytes, Content-Disposition: inline; filename="<mid>_<eid>_<snapshot|alarm|0>.jpg"
 *   (objdetect's frame is "0"); &width=10: a GD-scaled JPEG, filename "<mid>_<eid>_snapshot-10x10.jpg",
 *   cached as snapshot-10x10.jpg in the event folder. No such file (no Frames, no video), or an
 *   unknown event: 404 text/html, empty body. Bad or no token: 200 text/html, an HTML page
 *   ("ZM - Login" or "ZM - Error"): check the content type, not the status.
 * GET /zm/api/monitors/alarm/id:<mid>/command:on.json?token=<access>: PHP runs
 *   `<ZM_PATH_BIN>/zmu -v -m<mid> -a -T <access token>` and answers (output from the emulated zmu):
 *   200 {"status":"Alarmed event id: 2","output":"Monitor 1(Front)\nForcing alarm on current state: Idle, event 1\nAlarmed event id: 2"}
 *   (status = the last output line). command:status → `zmu -m<mid> -s -T …`: 200 {"status":2,"output":2}
 *   while forced, {"status":0,"output":0} idle (zmu prints state+1). command:off → `zmu -v -m<mid> -c -T …`:
 *   200 {"status":"Cancelling forced alarm on\/off","output":"Monitor 1(Front)\nCancelling forced alarm on\/off"}.
 *   zmu exiting non-zero: 200 {"status":"false","code":255,"error":"<its stdout>"}, e.g. Function None:
 *   {"status":"false","code":255,"error":"Monitor 2(Off)\nCurrent state: None"}; Function Monitor:
 *   200 {"status":"A Monitor in monitor mode cannot handle alarms.  Please use NoDect","output":"Monitor 1(Mon)\nA Monitor …"}.
 *   Unknown monitor: 404 "Invalid monitor" (NotFoundException); command:foo 400 "Invalid command"
 *   (BadRequestException); user Monitors='None': 401 "Insufficient Privileges" (zmu not run).
 *   With user=&pass= instead of a token, PHP passes `-A <auth hash>` (not emulated: status "false", code 255).
 *   Neither 1.36's API nor its zmu asks for Monitors='Edit' to force or cancel an alarm (zmu's
 *   ValidateAccess, read in the packaged binary, masks 0xf1f200: -n, reload, enable/disable,
 *   suspend/resume, brightness… only): a Monitors='View' user, as insertZmUser makes, can.
 * ZM_OPT_USE_API=0: every API request, login included: 401 "API Disabled".
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, link, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { freeLoopbackPort, logTail, superviseProcess, type SupervisedProcess } from '../../dev/demo/child-process.js';
import { zmPackageTree } from '../../dev/demo/zm-schema-source.js';
import { ZmSimulator } from '../../dev/sim/zm-simulator.js';
import type { ZmTestDatabase } from './zm-db.js';

const APACHE = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';
/** Debian's web server user (ZM_WEB_USER), which owns ZoneMinder's writable folders. */
const WEB_USER = 'www-data';
const START_TIMEOUT_MS = 30_000;
const DIR_PREFIX = 'zmes-zmweb-';

export type ZmImageFid = 'snapshot' | 'alarm' | 'objdetect';

export interface ZmWebOptions {
  /** A 1.36 throwaway database (createZmTestDatabase()); its Config and Storage rows are changed. */
  db: ZmTestDatabase;
  /** ZM_OPT_USE_API; default true. False: ZoneMinder refuses every API request (for error tests). */
  api?: boolean;
  /** ZM_OPT_USE_LEGACY_API_AUTH; default true, ZoneMinder's default. */
  legacyApiAuth?: boolean;
  /** ZM_AUTH_HASH_TTL in hours; default 2, ZoneMinder's default (access tokens live max(ttl,1) h). */
  authHashTtlHours?: number;
  /**
   * What the emulated capture daemon does on a forced alarm (`zmu -a`): starts an event and returns
   * its Id. Default: ZmSimulator.forceAlarm (Cause 'Forced Web', Notes 'Forced Web: ', as zmc writes it).
   */
  forceAlarm?: (monitorId: number) => Promise<bigint>;
  /** What it does when a forced alarm is cancelled (`zmu -c`). Default: ZmSimulator.endEvent. */
  cancelAlarm?: (monitorId: number, eventId: bigint) => Promise<void>;
}

export interface ZmWeb {
  /** `http://127.0.0.1:<port>/zm` (index.php: view=image …). */
  readonly portalUrl: string;
  /** `http://127.0.0.1:<port>/zm/api` */
  readonly apiUrl: string;
  /** ZM_DIR_EVENTS, and every Storage row's Path. */
  readonly eventsDir: string;
  /** Config.ZM_AUTH_HASH_SECRET (random): the JWT HMAC key. */
  readonly secret: string;
  /** The private folder (web tree, config, logs). */
  readonly baseDir: string;
  /**
   * Writes `<event folder>/<fid>.jpg` where index.php?view=image&eid=<id>&fid=<fid> reads it: the
   * event's Storage Path (ZM_DIR_EVENTS without one) + the folder of its Scheme (includes/Event.php).
   * Returns the file's path.
   */
  writeEventImage(eventId: bigint | number, fid: ZmImageFid, jpeg: Buffer): Promise<string>;
  /** Arguments of every `zmu` run so far (without the program name), oldest first. */
  zmuCalls(): string[][];
  /** The last lines of Apache's error log (PHP warnings and fatal errors land there). */
  errorLog(lines?: number): Promise<string>;
  /** Stops Apache and the zmu bridge and removes the folder; idempotent. The database is the caller's. */
  stop(): Promise<void>;
}

/**
 * Config values set in the test database, as an admin would set them in Options. Only what the
 * fixture needs; everything else keeps zm_create.sql's value.
 */
function configValues(options: ZmWebOptions, secret: string): Record<string, string> {
  return {
    // Users and logins are enforced only when on; without it the API issues no tokens at all.
    ZM_OPT_USE_AUTH: '1',
    // The JWT HMAC key and the legacy auth= salt; the seeded value is a well-known placeholder.
    ZM_AUTH_HASH_SECRET: secret,
    // The API itself: when off, AppController::beforeFilter refuses every request.
    ZM_OPT_USE_API: options.api === false ? '0' : '1',
    // user=&pass= on any API request, and `credentials` (auth=…) in login.json.
    ZM_OPT_USE_LEGACY_API_AUTH: options.legacyApiAuth === false ? '0' : '1',
    // Access tokens live max(ttl,1) hours (also the auth= window): explicit, tests check it.
    ZM_AUTH_HASH_TTL: String(options.authHashTtlHours ?? 2),
    // zm_create.sql sends warnings to syslog; a test server writes nothing outside its folder and
    // database (the web log file goes to ZM_PATH_LOGS in the folder, and to the Logs table).
    ZM_LOG_LEVEL_SYSLOG: '-5',
  };
}

/** Privileges README.Debian grants ZoneMinder's database user. */
const ZM_DB_PRIVILEGES = ['LOCK TABLES', 'ALTER', 'CREATE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'INDEX', 'TRIGGER'];

function phpModule(): string | null {
  const names = existsSync(APACHE_MODULES) ? readdirSync(APACHE_MODULES) : [];
  const name = names.find((n) => /^libphp[\d.]*\.so$/.test(n));
  return name === undefined ? null : join(APACHE_MODULES, name);
}

/** True when Debian's apache2 and libapache2-mod-php are installed. */
export function zmWebAvailable(): boolean {
  return existsSync(APACHE) && phpModule() !== null;
}

export async function startZmWeb(options: ZmWebOptions): Promise<ZmWeb> {
  const { db } = options;
  if (db.generation !== '1.36') throw new Error(`startZmWeb: ZoneMinder 1.36's PHP needs a 1.36 database, not ${db.generation}`);
  const php = phpModule();
  if (!existsSync(APACHE) || php === null) {
    throw new Error(`${APACHE} or mod_php is missing: apt-get install apache2 libapache2-mod-php php-mysql php-intl php-apcu php-gd (see .ci/run)`);
  }
  await sweepLeftovers();
  const pkg = await zmPackageTree();
  const baseDir = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  await chmod(baseDir, 0o755); // the web server's user walks through it
  const dirs = {
    www: join(baseDir, 'www'),
    etc: join(baseDir, 'etc'),
    bin: join(baseDir, 'bin'),
    events: join(baseDir, 'events'),
    cache: join(baseDir, 'cache'),
    temp: join(baseDir, 'temp'),
    logs: join(baseDir, 'logs'),
    run: join(baseDir, 'run'),
    sessions: join(baseDir, 'sessions'),
    socks: join(baseDir, 'socks'),
    swap: join(baseDir, 'swap'),
    exports: join(baseDir, 'exports'),
    map: join(baseDir, 'map'),
    cgi: join(baseDir, 'cgi-bin'),
    htdocs: join(baseDir, 'htdocs'),
  };
  const secret = randomBytes(24).toString('base64url');
  const webUser = await webServerUser();
  let bridge: ZmuBridge | null = null;
  let apache: SupervisedProcess | null = null;
  let stopped: Promise<void> | null = null;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        if (apache) await apache.destroy();
      } finally {
        await bridge?.close();
        await rm(baseDir, { recursive: true, force: true });
      }
    })();
    return stopped;
  };

  try {
    for (const dir of Object.values(dirs)) if (dir !== dirs.www) await mkdir(dir);
    await linkTree(join(pkg.root, 'usr', 'share', 'zoneminder', 'www'), dirs.www);
    await patchWebTree(pkg.root, dirs);

    const port = await freeLoopbackPort();
    const origin = `http://127.0.0.1:${port}`;
    const portalUrl = `${origin}/zm`;
    const apiUrl = `${portalUrl}/api`;

    const dbUser = await db.createUser(ZM_DB_PRIVILEGES);
    await setConfig(db, configValues(options, secret));
    await db.execute('UPDATE Storage SET Path = ?', [dirs.events]);
    await writeZmConf(pkg.root, dirs, {
      ZM_PATH_DATA: join(pkg.root, 'usr', 'share', 'zoneminder'),
      ZM_PATH_BIN: dirs.bin,
      ZM_PATH_CONF: dirs.etc,
      ZM_PATH_WEB: dirs.www,
      ZM_PATH_CGI: dirs.cgi,
      ZM_WEB_USER: webUser?.name ?? currentUserName(),
      ZM_WEB_GROUP: webUser?.name ?? currentUserName(),
      ZM_DB_HOST: dbUser.socket ? `localhost:${dbUser.socket}` : `${dbUser.host}:${dbUser.port}`,
      ZM_DB_NAME: dbUser.database,
      ZM_DB_USER: dbUser.user,
      ZM_DB_PASS: dbUser.password,
      ZM_DIR_EVENTS: dirs.events,
      ZM_DIR_EXPORTS: dirs.exports,
      ZM_PATH_MAP: dirs.map,
      ZM_PATH_SOCKS: dirs.socks,
      ZM_PATH_LOGS: dirs.logs,
      ZM_PATH_SWAP: dirs.swap,
    });

    bridge = await startZmuBridge(new ZmuEmulator(db, options));
    const callsFile = join(dirs.bin, 'zmu-calls.jsonl');
    await writeZmuStandIn(dirs.bin, callsFile, bridge);

    // Folders ZoneMinder's PHP (or zmu, run by it) writes: Debian gives them to www-data.
    if (webUser) {
      const writable = [dirs.events, dirs.cache, dirs.temp, dirs.logs, dirs.sessions, dirs.socks, dirs.swap, dirs.exports, dirs.map, callsFile];
      for (const path of [...writable, ...(await listTree(join(dirs.www, 'api', 'app', 'tmp')))]) await chown(path, webUser.uid, webUser.gid);
    }

    const confFile = join(baseDir, 'apache2.conf');
    await writeFile(confFile, await apacheConf(pkg.root, dirs, { port, php, webUser: webUser?.name ?? null }));
    const errorLogFile = join(dirs.logs, 'apache-error.log');
    apache = superviseProcess({
      name: 'apache2 (ZoneMinder web)',
      command: APACHE,
      args: ['-f', confFile, '-DFOREGROUND'],
      baseDir,
      ready: (proc) => waitUntilServing(`${apiUrl}/host/getVersion.json`, proc, errorLogFile),
      stopTimeoutMs: 15_000,
      // Stopping, Apache signals its whole process group: not ours.
      ownProcessGroup: true,
      // Prefork: the parent takes its workers down with it on SIGTERM, not when killed.
      exitSignal: 'SIGTERM',
    });
    await apache.start();

    return {
      portalUrl,
      apiUrl,
      eventsDir: dirs.events,
      secret,
      baseDir,
      writeEventImage: (eventId, fid, jpeg) => writeEventImage(db, dirs.events, webUser, BigInt(eventId), fid, jpeg),
      zmuCalls: () => readZmuCalls(callsFile),
      errorLog: (lines = 20) => logTail(errorLogFile, lines),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The web tree

type Dirs = Record<'www' | 'etc' | 'bin' | 'events' | 'cache' | 'temp' | 'logs' | 'run' | 'sessions' | 'socks' | 'swap' | 'exports' | 'map' | 'cgi' | 'htdocs', string>;

/** Recreates `src` in `dest` with hard links (copies across file systems), symbolic links as they are. */
async function linkTree(src: string, dest: string): Promise<void> {
  await mkdir(dest);
  const entries = await readdir(src, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const from = join(src, entry.name);
      const to = join(dest, entry.name);
      if (entry.isDirectory()) return linkTree(from, to);
      if (entry.isSymbolicLink()) return symlink(await readlink(from), to);
      try {
        await link(from, to);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
        await copyFile(from, to);
      }
    }),
  );
}

/** Replaces a file (a hard link into the cached package) by a new one: never writes through the link. */
async function replaceFile(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  await writeFile(path, text);
}

/** Applies `[from, to, count]` literal replacements, each of which must occur exactly `count` times. */
async function patchFile(path: string, edits: readonly (readonly [string, string, number])[]): Promise<void> {
  let text = await readFile(path, 'utf8');
  for (const [from, to, count] of edits) {
    const found = text.split(from).length - 1;
    if (found !== count) throw new Error(`zm-web: expected ${count}× ${JSON.stringify(from)} in ${path}, found ${found}: the package changed`);
    text = text.split(from).join(to);
  }
  await replaceFile(path, text);
}

/** A path for a single-quoted PHP string. */
function phpPath(path: string): string {
  if (/['\\]/.test(path)) throw new Error(`zm-web: unusable path for PHP: ${path}`);
  return path;
}

/** The PATCHES described at the top of this file. */
async function patchWebTree(pkgRoot: string, dirs: Dirs): Promise<void> {
  await patchFile(join(dirs.www, 'includes', 'config.php'), [
    ["'/etc/zm/zm.conf'", `'${phpPath(join(dirs.etc, 'zm.conf'))}'`, 1],
    ["'/etc/zm/conf.d'", `'${phpPath(join(dirs.etc, 'conf.d'))}'`, 1],
    ["define( 'ZM_DIR_TEMP', '/tmp/zm' );", `define( 'ZM_DIR_TEMP', '${phpPath(dirs.temp)}' );`, 1],
    ["define( 'ZM_DIR_CACHE', '/var/cache/zoneminder' );", `define( 'ZM_DIR_CACHE', '${phpPath(dirs.cache)}' );`, 1],
  ]);
  const config = join(dirs.www, 'api', 'app', 'Config');
  await patchFile(join(config, 'bootstrap.php'), [
    ["'/etc/zm/zm.conf'", `'${phpPath(join(dirs.etc, 'zm.conf'))}'`, 1],
    ["'/etc/zm/conf.d'", `'${phpPath(join(dirs.etc, 'conf.d'))}'`, 1],
    ["'/var/log/zm/'", `'${phpPath(dirs.logs)}/'`, 3],
  ]);
  // Debian's postinst: /etc/zm/core.php from core.php.default, with a random salt and cipher seed.
  const coreDefault = await readFile(join(pkgRoot, 'usr', 'share', 'zoneminder', 'www', 'api', 'app', 'Config', 'core.php.default'), 'utf8');
  if (!coreDefault.includes('__ZM_API_SALT__') || !coreDefault.includes('__ZM_API_SEED__')) throw new Error('zm-web: core.php.default changed');
  const salt = randomBytes(32).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 29);
  const seed = Array.from(randomBytes(40), (b) => String(b % 10)).join('');
  await replaceFile(join(config, 'core.php'), coreDefault.replace('__ZM_API_SALT__', salt).replace('__ZM_API_SEED__', seed));
  // CakePHP's writable folder (Debian: a link to /var/cache/zoneminder/temp).
  const cakeTmp = join(dirs.www, 'api', 'app', 'tmp');
  await rm(cakeTmp, { force: true });
  for (const sub of ['', 'cache', 'cache/models', 'cache/persistent', 'cache/views', 'logs', 'sessions', 'tests']) await mkdir(join(cakeTmp, sub));
}

async function listTree(dir: string): Promise<string[]> {
  const out = [dir];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listTree(path)));
    else out.push(path);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// zm.conf, Config, Apache

/** The package's zm.conf and conf.d/*.conf with `values` replaced; keys they lack go into conf.d/99-zmes-test.conf. */
async function writeZmConf(pkgRoot: string, dirs: Dirs, values: Record<string, string>): Promise<void> {
  const left = new Map(Object.entries(values));
  for (const value of left.values()) if (/[\n"']/.test(value)) throw new Error(`zm-web: unusable zm.conf value ${JSON.stringify(value)}`);
  const rewrite = (text: string) =>
    text.replace(/^(\s*)([A-Z0-9_]+)=.*$/gm, (line, indent: string, key: string) => {
      const value = left.get(key);
      if (value === undefined) return line;
      left.delete(key);
      return `${indent}${key}=${value}`;
    });
  const srcEtc = join(pkgRoot, 'etc', 'zm');
  await writeFile(join(dirs.etc, 'zm.conf'), rewrite(await readFile(join(srcEtc, 'zm.conf'), 'utf8')));
  await mkdir(join(dirs.etc, 'conf.d'));
  for (const name of (await readdir(join(srcEtc, 'conf.d'))).filter((n) => n.endsWith('.conf')).sort()) {
    await writeFile(join(dirs.etc, 'conf.d', name), rewrite(await readFile(join(srcEtc, 'conf.d', name), 'utf8')));
  }
  if (left.size > 0) {
    const lines = [...left].map(([key, value]) => `${key}=${value}`);
    await writeFile(join(dirs.etc, 'conf.d', '99-zmes-test.conf'), `# Added by test/helpers/zm-web.ts\n${lines.join('\n')}\n`);
  }
}

async function setConfig(db: ZmTestDatabase, values: Record<string, string>): Promise<void> {
  const names = Object.keys(values);
  const rows = await db.query(`SELECT Name FROM Config WHERE Name IN (${names.map(() => '?').join(', ')})`, names);
  const missing = names.filter((name) => !rows.some((row) => row['Name'] === name));
  if (missing.length > 0) {
    throw new Error(`zm-web: Config rows missing (${missing.join(', ')}): ZoneMinder's PHP needs the Config table zm_create.sql 1.36 fills`);
  }
  for (const [name, value] of Object.entries(values)) await db.execute('UPDATE Config SET Value = ? WHERE Name = ?', [value, name]);
}

interface WebUser {
  name: string;
  uid: number;
  gid: number;
}

/** Apache drops root for www-data (it refuses to serve as root); run by another user, it stays that user. */
async function webServerUser(): Promise<WebUser | null> {
  if (process.getuid?.() !== 0) return null;
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${WEB_USER}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error(`zm-web: user ${WEB_USER} does not exist (Apache needs it when started as root)`);
  return { name: WEB_USER, uid: Number(uid), gid: Number(gid) };
}

function currentUserName(): string {
  return process.env['USER'] ?? process.env['LOGNAME'] ?? String(process.getuid?.() ?? '');
}

async function apacheConf(pkgRoot: string, dirs: Dirs, opts: { port: number; php: string; webUser: string | null }): Promise<string> {
  const paths: Record<string, string> = {
    '/usr/share/zoneminder/www': dirs.www,
    '/var/cache/zoneminder': dirs.cache,
    '/usr/lib/zoneminder/cgi-bin': dirs.cgi,
  };
  const movePaths = (text: string) => text.replace(/\/usr\/share\/zoneminder\/www|\/var\/cache\/zoneminder|\/usr\/lib\/zoneminder\/cgi-bin/g, (m) => paths[m] ?? m);
  const debianConf = await readFile(join(pkgRoot, 'etc', 'apache2', 'conf-available', 'zoneminder.conf'), 'utf8');
  const example = await readFile(join(pkgRoot, 'usr', 'share', 'doc', 'zoneminder', 'examples', 'apache.conf'), 'utf8');
  const rewrites = example.match(/^[ \t]*<Directory "\/usr\/share\/zoneminder\/www\/api[^"]*">[\s\S]*?<\/Directory>/gm) ?? [];
  if (rewrites.length !== 3 || !rewrites.every((block) => block.includes('RewriteRule'))) {
    throw new Error(`zm-web: expected the 3 API rewrite blocks in examples/apache.conf, found ${rewrites.length}`);
  }
  const mod = (name: string, file: string) => `LoadModule ${name} ${join(APACHE_MODULES, file)}`;
  return `# Generated by test/helpers/zm-web.ts: a private Apache for ZoneMinder's PHP web UI and API.
ServerName 127.0.0.1
Listen 127.0.0.1:${opts.port}
PidFile ${dirs.run}/apache2.pid
DefaultRuntimeDir ${dirs.run}
ErrorLog ${dirs.logs}/apache-error.log
LogLevel warn
LogFormat "%h %t \\"%r\\" %>s %b %D" zmes
CustomLog ${dirs.logs}/apache-access.log zmes
${mod('mpm_prefork_module', 'mod_mpm_prefork.so')}
${mod('authz_core_module', 'mod_authz_core.so')}
${mod('alias_module', 'mod_alias.so')}
${mod('dir_module', 'mod_dir.so')}
${mod('mime_module', 'mod_mime.so')}
${mod('rewrite_module', 'mod_rewrite.so')}
LoadModule php_module ${opts.php}
${opts.webUser ? `User ${opts.webUser}\nGroup ${opts.webUser}` : '# Not root: Apache runs as the current user.'}
StartServers 2
MinSpareServers 2
MaxSpareServers 4
MaxRequestWorkers 16
KeepAlive On
KeepAliveTimeout 5
TypesConfig /etc/mime.types
DocumentRoot ${dirs.htdocs}

# As Debian's apache2.conf: nothing is served by default, except from this folder (as /usr/share).
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
<Directory ${join(dirs.www, '..')}>
    AllowOverride None
    Require all granted
</Directory>

# As Debian's mods-available/php8.2.conf.
<FilesMatch ".+\\.ph(?:ar|p|tml)$">
    SetHandler application/x-httpd-php
</FilesMatch>
php_admin_value session.save_path ${dirs.sessions}

# The package's conf-available/zoneminder.conf, its paths moved into ${dirs.www}/..:
${movePaths(debianConf)}
# The API's rewrite rules, from the package's examples/apache.conf (Debian ships no .htaccess files):
${rewrites.map(movePaths).join('\n')}
`;
}

async function waitUntilServing(url: string, proc: { exitCode: number | null; signalCode: NodeJS.Signals | null }, errorLog: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`apache2 exited during start-up (${proc.exitCode ?? proc.signalCode}): ${await logTail(errorLog)}`);
    }
    let response: Response | null = null;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    } catch {
      // not listening yet
    }
    if (response) {
      const body = await response.text();
      // Any JSON answer (401 Not Authenticated, API Disabled…) means PHP, CakePHP and the database work.
      if ((response.headers.get('content-type') ?? '').includes('json')) return;
      throw new Error(`ZoneMinder's API answered ${response.status} ${body.slice(0, 300)} to ${url}; Apache log: ${await logTail(errorLog)}`);
    }
    if (Date.now() > deadline) throw new Error(`apache2 did not answer ${url} within ${START_TIMEOUT_MS} ms: ${await logTail(errorLog)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Event pictures

async function writeEventImage(db: ZmTestDatabase, eventsDir: string, webUser: WebUser | null, eventId: bigint, fid: ZmImageFid, jpeg: Buffer): Promise<string> {
  const [row] = await db.query(
    `SELECT e.Id, e.MonitorId, e.StartDateTime, e.Scheme, s.Path
       FROM Events e LEFT JOIN Storage s ON s.Id = e.StorageId WHERE e.Id = ?`,
    [eventId],
  );
  if (!row) throw new Error(`zm-web: event ${eventId} does not exist`);
  const storagePath = typeof row['Path'] === 'string' && row['Path'] !== '' ? row['Path'] : eventsDir;
  const start = /^(\d{2})(\d{2})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(String(row['StartDateTime']));
  if (!start) throw new Error(`zm-web: event ${eventId} has no usable StartDateTime (${String(row['StartDateTime'])})`);
  const [, century, yy, mm, dd, hh, mi, ss] = start;
  const monitor = String(row['MonitorId']);
  // Event::Relative_Path(): date() of strtotime(StartDateTime) in PHP's zone gives back the stored
  // local time's fields.
  const relative =
    row['Scheme'] === 'Deep'
      ? [monitor, yy, mm, dd, hh, mi, ss]
      : row['Scheme'] === 'Medium'
        ? [monitor, `${century}${yy}-${mm}-${dd}`, String(eventId)]
        : [monitor, String(eventId)];
  const dir = join(storagePath, ...(relative as string[]));
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${fid}.jpg`);
  await writeFile(file, jpeg);
  // ZoneMinder writes scaled copies next to the picture (view=image&width=…), as www-data.
  if (webUser) {
    let path = dir;
    while (path.startsWith(`${storagePath}/`)) {
      await chown(path, webUser.uid, webUser.gid);
      path = join(path, '..');
    }
    await chown(file, webUser.uid, webUser.gid);
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// zmu

function readZmuCalls(file: string): string[][] {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as string[]);
}

interface ZmuReply {
  stdout: string;
  stderr: string;
  code: number;
}

interface ZmuBridge {
  port: number;
  key: string;
  close(): Promise<void>;
}

/** A loopback HTTP endpoint the zmu stand-in asks what to print; `key` keeps other local processes out. */
async function startZmuBridge(emulator: ZmuEmulator): Promise<ZmuBridge> {
  const key = randomBytes(16).toString('hex');
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let reply: ZmuReply;
        if (req.headers['x-zmu-key'] !== key) {
          res.writeHead(403).end();
          return;
        }
        try {
          reply = await emulator.run(JSON.parse(Buffer.concat(chunks).toString('utf8')) as string[]);
        } catch (err) {
          reply = { stdout: '', stderr: `zmu stand-in: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`, code: 255 };
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    key,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * ZM_PATH_BIN/zmu: a shell script (PHP exec()s it through /bin/sh) that runs a CommonJS file with
 * this Node. It records its arguments as one JSON line, then prints what the bridge answers and
 * exits with its code. Coverage and loader settings of the test process are not passed on: it runs
 * as the web server's user.
 */
async function writeZmuStandIn(binDir: string, callsFile: string, bridge: ZmuBridge): Promise<void> {
  const script = join(binDir, 'zmu-stand-in.cjs');
  await writeFile(
    script,
    `'use strict';
// zmu stand-in written by test/helpers/zm-web.ts: no capture daemon runs in tests.
const { appendFileSync } = require('node:fs');
const http = require('node:http');
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(callsFile)}, JSON.stringify(args) + '\\n');
const fail = (message) => { process.stderr.write('zmu stand-in: ' + message + '\\n'); process.exitCode = 255; };
const req = http.request({ host: '127.0.0.1', port: ${bridge.port}, path: '/zmu', method: 'POST', timeout: 20000,
  headers: { 'content-type': 'application/json', 'x-zmu-key': ${JSON.stringify(bridge.key)} } }, (res) => {
  let body = '';
  res.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => {
    if (res.statusCode !== 200) return fail('bridge answered ' + res.statusCode);
    const reply = JSON.parse(body);
    process.stdout.write(reply.stdout);
    process.stderr.write(reply.stderr);
    process.exitCode = reply.code;
  });
});
req.on('timeout', () => req.destroy(new Error('no answer from the test process')));
req.on('error', (err) => fail(err.message));
req.end(JSON.stringify(args));
`,
  );
  const zmu = join(binDir, 'zmu');
  await writeFile(zmu, `#!/bin/sh\nunset NODE_V8_COVERAGE NODE_OPTIONS\nexec ${process.execPath} ${script} "$@"\n`);
  await chmod(zmu, 0o755);
  await writeFile(callsFile, '');
}

/** Monitor::State of 1.36.16+ as zmu prints it (the API subtracts 1). */
const STATE = { idle: 1, alarm: 3 } as const;

/**
 * What 1.36.33's zmu prints and returns (src/zmu.cpp; the access check read from the packaged binary),
 * as if a capture daemon ran for every monitor whose Function is not 'None':
 * - authentication: with ZM_OPT_USE_AUTH, `-T <jwt>` (what the API passes when the request had a
 *   token): HS256 with Config.ZM_AUTH_HASH_SECRET, iss ZoneMinder, type access, an enabled user,
 *   iat ≥ TokenMinExpiry. `-A`/`-U -P` (the API's legacy logins) are not emulated: exit 255 with a
 *   message on stderr. Failure: exit 255, nothing on stdout.
 * - access (ValidateAccess): `-s` needs Stream ≥ View, `-n` Monitors = Edit (`-a`/`-c` nothing more),
 *   and the monitor in the user's MonitorIds when set. Failure: exit 255, nothing on stdout.
 * - unknown monitor: exit 255, nothing on stdout. `-v`: "Monitor <id>(<name>)". Function None:
 *   "Current state: None" (-v) or "0", exit 255.
 * - `-a`: Function Monitor → "A Monitor in monitor mode cannot handle alarms.  Please use NoDect";
 *   otherwise (-v) "Forcing alarm on current state: <Idle|Alarm>, event <last event id>", then the
 *   daemon ends a forced event still open and starts one (options.forceAlarm), and
 *   "Alarmed event id: <id>". `-c`: (-v) "Cancelling forced alarm on/off", the forced event ends.
 *   `-n`: (-v) "Forcing alarm off". `-s`: the state number ("1" idle, "3" alarm) on its own line.
 */
class ZmuEmulator {
  private readonly forced = new Map<number, bigint>();
  private simulator: Promise<ZmSimulator> | null = null;

  constructor(
    private readonly db: ZmTestDatabase,
    private readonly options: ZmWebOptions,
  ) {}

  async run(args: readonly string[]): Promise<ZmuReply> {
    const opts = parseZmuArgs(args);
    const out: string[] = [];
    const reply = (code: number, stderr = ''): ZmuReply => ({ stdout: out.map((line) => `${line}\n`).join(''), stderr, code });
    const useAuth = (await this.configValue('ZM_OPT_USE_AUTH')) === '1';
    if (useAuth) {
      if (opts.token === null) return reply(255, 'zmu stand-in: only -T <token> authentication is emulated\n');
      const user = await this.tokenUser(opts.token);
      if (!user) return reply(255, 'Unable to authenticate user\n');
      if (!validateAccess(user, opts)) return reply(255, `Insufficient privileges for user ${String(user['Username'])}\n`);
    }
    if (opts.monitorId <= 0) return reply(255, 'zmu stand-in: only monitor functions (-m) are emulated\n');
    const [monitor] = await this.db.query('SELECT Id, Name, `Function` FROM Monitors WHERE Id = ?', [opts.monitorId]);
    if (!monitor) return reply(255, `Unable to load monitor ${opts.monitorId}\n`);
    if (opts.verbose) out.push(`Monitor ${opts.monitorId}(${String(monitor['Name'])})`);
    if (monitor['Function'] === 'None') {
      out.push(opts.verbose ? 'Current state: None' : '0');
      return reply(255);
    }
    const state = this.forced.has(opts.monitorId) ? STATE.alarm : STATE.idle;
    if (opts.state) out.push(opts.verbose ? `Current state: ${state === STATE.alarm ? 'Alarm' : 'Idle'}` : String(state));
    if (opts.alarm) {
      if (monitor['Function'] === 'Monitor') {
        out.push('A Monitor in monitor mode cannot handle alarms.  Please use NoDect');
      } else {
        if (opts.verbose) {
          const [last] = await this.db.query('SELECT COALESCE(MAX(Id), 0) AS Id FROM Events WHERE MonitorId = ?', [opts.monitorId]);
          out.push(`Forcing alarm on current state: ${state === STATE.alarm ? 'Alarm' : 'Idle'}, event ${String(last?.['Id'] ?? 0)}`);
        }
        await this.endForced(opts.monitorId);
        const eventId = this.options.forceAlarm ? await this.options.forceAlarm(opts.monitorId) : await (await this.sim()).forceAlarm(opts.monitorId);
        this.forced.set(opts.monitorId, eventId);
        out.push(`Alarmed event id: ${eventId}`);
      }
    }
    if (opts.noAlarm) {
      if (opts.verbose) out.push('Forcing alarm off');
      await this.endForced(opts.monitorId);
    }
    if (opts.cancel) {
      if (opts.verbose) out.push('Cancelling forced alarm on/off');
      await this.endForced(opts.monitorId);
    }
    return reply(0);
  }

  private async endForced(monitorId: number): Promise<void> {
    const eventId = this.forced.get(monitorId);
    if (eventId === undefined) return;
    this.forced.delete(monitorId);
    if (this.options.cancelAlarm) await this.options.cancelAlarm(monitorId, eventId);
    else await (await this.sim()).endEvent(eventId);
  }

  private sim(): Promise<ZmSimulator> {
    this.simulator ??= ZmSimulator.create(this.db.pool);
    return this.simulator;
  }

  private async configValue(name: string): Promise<string | null> {
    const [row] = await this.db.query('SELECT Value FROM Config WHERE Name = ?', [name]);
    return row ? String(row['Value']) : null;
  }

  /** zmLoadTokenUser(): the user of a valid access token, or null. */
  private async tokenUser(token: string): Promise<Record<string, unknown> | null> {
    const secret = (await this.configValue('ZM_AUTH_HASH_SECRET')) ?? '';
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'], issuer: 'ZoneMinder' }));
    } catch {
      return null;
    }
    if (payload['type'] !== 'access' || typeof payload['user'] !== 'string') return null;
    const [user] = await this.db.query('SELECT * FROM Users WHERE Username = ? AND Enabled = 1', [payload['user']]);
    if (!user) return null;
    if (Number(payload['iat'] ?? 0) < Number(user['TokenMinExpiry'] ?? 0)) return null;
    return user;
  }
}

interface ZmuArgs {
  monitorId: number;
  verbose: boolean;
  alarm: boolean;
  noAlarm: boolean;
  cancel: boolean;
  state: boolean;
  token: string | null;
}

/** The options the API passes (getopt style: `-m1` or `-m 1`, `-T <token>`). */
function parseZmuArgs(args: readonly string[]): ZmuArgs {
  const opts: ZmuArgs = { monitorId: 0, verbose: false, alarm: false, noAlarm: false, cancel: false, state: false, token: null };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const value = (inline: string) => (inline !== '' ? inline : (args[++i] ?? ''));
    if (arg.startsWith('-m')) opts.monitorId = Number.parseInt(value(arg.slice(2)), 10) || 0;
    else if (arg.startsWith('-T')) opts.token = value(arg.slice(2));
    else if (arg.startsWith('-A') || arg.startsWith('-U') || arg.startsWith('-P')) value(arg.slice(2));
    else if (/^-[vancs]+$/.test(arg)) {
      for (const flag of arg.slice(1)) {
        if (flag === 'v') opts.verbose = true;
        else if (flag === 'a') opts.alarm = true;
        else if (flag === 'n') opts.noAlarm = true;
        else if (flag === 'c') opts.cancel = true;
        else if (flag === 's') opts.state = true;
      }
    }
  }
  return opts;
}

const PERM = { None: 0, View: 1, Edit: 2 } as const;

function perm(value: unknown): number {
  return PERM[value as keyof typeof PERM] ?? 0;
}

/** 1.36.33's ValidateAccess for the functions the API uses. */
function validateAccess(user: Record<string, unknown>, opts: ZmuArgs): boolean {
  if (opts.state && perm(user['Stream']) < PERM.View) return false;
  if (opts.noAlarm && perm(user['Monitors']) < PERM.Edit) return false;
  const ids = typeof user['MonitorIds'] === 'string' ? user['MonitorIds'].split(',').map((s) => s.trim()).filter(Boolean) : [];
  if (opts.monitorId > 0 && ids.length > 0 && !ids.includes(String(opts.monitorId))) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Leftovers

/**
 * Removes the folders of fixtures whose test process died without stop(), and stops their Apache
 * (every process whose command line names that folder's config: the parent and its workers).
 */
async function sweepLeftovers(): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const owner = Number(new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!Number.isInteger(owner) || owner === process.pid || isAlive(owner)) continue;
    const dir = join(tmpdir(), name);
    const conf = join(dir, 'apache2.conf');
    for (const pid of await processesNaming(conf)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function processesNaming(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(text)) pids.push(Number(entry));
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}
