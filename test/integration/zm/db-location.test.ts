import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mariadb';
import { startPrivateMariadb, type PrivateMariadb } from '../../helpers/private-mariadb.js';
import { zmSchemaFiles } from '../../../dev/demo/zm-schema-source.js';
import { loadConfig } from '../../../src/config/load.js';
import { dbSettingsFrom } from '../../../src/app.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { isZmesError } from '../../../src/errors.js';
import { memoryLogger } from '../../helpers/memory-log.js';

/**
 * A stock ZoneMinder's database access: `ZM_DB_HOST=localhost` and a `'zmuser'@'localhost'`
 * account on a server with skip_name_resolve (a private MariaDB of this test, on its own
 * socket and port).
 */
let server: PrivateMariadb;
let socket: string;
let workDir: string;

before(async () => {
  server = await startPrivateMariadb();
  socket = join(server.baseDir, 'run', 'mysqld.sock');
  const admin = await createConnection({ host: server.host, port: server.port, user: 'root', password: '' });
  try {
    await admin.query('CREATE DATABASE zmtest');
    await admin.query("CREATE USER 'zmu'@'localhost' IDENTIFIED BY 'zmpw'");
    await admin.query("GRANT SELECT ON zmtest.* TO 'zmu'@'localhost'");
  } finally {
    await admin.end();
  }
  workDir = mkdtempSync(join(tmpdir(), 'zmes-dbloc-'));
});

after(async () => {
  await server?.destroy();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const settings = { database: 'zmtest', user: 'zmu', password: 'zmpw' };

test('host localhost reaches a localhost-only account through the socket', async () => {
  const logs = memoryLogger('debug');
  const db = new ZmDatabase({ ...settings, host: 'localhost', port: server.port }, logs.log, { socketCandidates: ['/nonexistent/mysqld.sock', socket] });
  await db.start(new AbortController().signal);
  try {
    assert.equal(db.isAvailable, true);
    assert.equal(logs.grep(new RegExp(`connected to ZoneMinder database zmu@${socket.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/zmtest`)).length, 1);
  } finally {
    await db.stop();
  }
});

test('127.0.0.1 is TCP: refused, and the error names the account the server saw and the fix', async () => {
  const db = new ZmDatabase({ ...settings, host: '127.0.0.1', port: server.port }, memoryLogger('debug').log, { socketCandidates: [socket] });
  await assert.rejects(db.start(new AbortController().signal), (err: unknown) => {
    assert.ok(isZmesError(err, 'ZMES_DB_UNAVAILABLE'));
    assert.match(err.message, /the server saw the login as 'zmu'@'127\.0\.0\.1'/);
    assert.match(err.message, /set database\.host to localhost/);
    assert.doesNotMatch(err.message, /zmpw/);
    return true;
  });
});

test("ZoneMinder's own zm.conf (ZM_DB_HOST=localhost) with conf.d credentials connects through the socket", async () => {
  const files = await zmSchemaFiles();
  const packaged = join(files.dir, '..', '..', '..', '..', 'etc', 'zm', 'zm.conf');
  assert.ok(existsSync(packaged), `Debian's zm.conf at ${packaged}`);
  const confDir = join(workDir, 'etc-zm');
  mkdirSync(join(confDir, 'conf.d'), { recursive: true });
  copyFileSync(packaged, join(confDir, 'zm.conf'));
  writeFileSync(join(confDir, 'conf.d', '99-test.conf'), `ZM_DB_NAME=zmtest\nZM_DB_USER=zmu\nZM_DB_PASS=zmpw\n`);
  const { config } = loadConfig({ env: {}, overrides: { 'database.zm_conf': join(confDir, 'zm.conf') } });
  assert.equal(config.database.host, 'localhost', 'taken from the packaged zm.conf');
  const db = new ZmDatabase(dbSettingsFrom(config), memoryLogger('debug').log, { socketCandidates: [socket] });
  await db.start(new AbortController().signal);
  try {
    assert.equal(db.isAvailable, true);
    assert.equal(db.target, `zmu@${socket}/zmtest`);
  } finally {
    await db.stop();
  }
});
