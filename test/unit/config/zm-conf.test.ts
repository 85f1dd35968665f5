import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { parseZmConf, parseZmDbHost, readZmConf, zmDatabaseSettings } from '../../../src/config/zm-conf.js';
import { configError, tempDir } from './helpers.js';

const dir = tempDir();
after(() => dir.remove());

describe('the zm.conf parser', () => {
  it('reads KEY=VALUE lines, skipping blank lines and # comments', () => {
    const { values, badLines } = parseZmConf('# ZoneMinder\n\nZM_DB_HOST=localhost\n  ZM_DB_NAME = zm  \n');
    assert.deepEqual([...values], [
      ['ZM_DB_HOST', 'localhost'],
      ['ZM_DB_NAME', 'zm'],
    ]);
    assert.deepEqual(badLines, []);
  });

  it('drops quotes around values and upper-cases names, as ZoneMinder does', () => {
    const { values } = parseZmConf(`zm_db_pass="p@ss word"\nZM_DB_USER='zmuser'\n`);
    assert.equal(values.get('ZM_DB_PASS'), 'p@ss word');
    assert.equal(values.get('ZM_DB_USER'), 'zmuser');
  });

  it('keeps a # inside a value and reports lines that are not KEY=VALUE', () => {
    const { values, badLines } = parseZmConf('ZM_DB_PASS=a#b\nnonsense line\n');
    assert.equal(values.get('ZM_DB_PASS'), 'a#b');
    assert.deepEqual(badLines, [2]);
  });
});

describe('ZM_DB_HOST', () => {
  const cases: [string, ReturnType<typeof parseZmDbHost>][] = [
    ['db', { host: 'db' }],
    ['db.lan:3307', { host: 'db.lan', port: 3307 }],
    ['localhost:/run/mysqld/mysqld.sock', { host: 'localhost', socket: '/run/mysqld/mysqld.sock' }],
    ['[::1]:3307', { host: '::1', port: 3307 }],
    ['::1', { host: '::1' }],
    ['db:notaport', null],
    ['', null],
  ];
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)} as ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseZmDbHost(text), expected);
    });
  }

  it('lets ZM_DB_PORT win over a port in ZM_DB_HOST, and reports malformed values', () => {
    const { settings, warnings } = zmDatabaseSettings(new Map([['ZM_DB_HOST', 'db:3307'], ['ZM_DB_PORT', '3308']]));
    assert.deepEqual(settings, { host: 'db', port: 3308 });
    assert.deepEqual(warnings, []);
    const bad = zmDatabaseSettings(new Map([['ZM_DB_PORT', 'x']]));
    assert.deepEqual(bad.settings, {});
    assert.equal(bad.warnings.length, 1);
  });
});

describe('reading zm.conf and conf.d', () => {
  it('reads conf.d/*.conf in name order after zm.conf, later files winning', () => {
    const zmConf = dir.write('order/zm.conf', 'ZM_DB_HOST=from-main\nZM_DB_NAME=main-db\nZM_DB_USER=main-user\n');
    dir.write('order/conf.d/02-second.conf', 'ZM_DB_HOST=from-second\n');
    dir.write('order/conf.d/01-first.conf', 'ZM_DB_HOST=from-first\nZM_DB_NAME=first-db\n');
    dir.write('order/conf.d/03-ignored.txt', 'ZM_DB_USER=not-a-conf-file\n');
    const { values, files } = readZmConf(zmConf);
    assert.equal(values.get('ZM_DB_HOST'), 'from-second');
    assert.equal(values.get('ZM_DB_NAME'), 'first-db');
    assert.equal(values.get('ZM_DB_USER'), 'main-user');
    assert.equal(files.length, 3);
  });

  it('gives nothing and no warning when the files do not exist', () => {
    const { values, files, warnings } = readZmConf(`${dir.path}/absent/zm.conf`);
    assert.equal(values.size, 0);
    assert.deepEqual(files, []);
    assert.deepEqual(warnings, []);
  });
});

describe('database settings from zm.conf', () => {
  const zmConf = dir.write(
    'db/zm.conf',
    'ZM_DB_HOST=zm-db.lan:3307\nZM_DB_NAME=zoneminder\nZM_DB_USER=zmreader\nZM_DB_PASS=zm-secret\n',
  );

  it('fill database keys that nothing else sets, with source zm.conf', () => {
    const { config, sources } = loadConfig({ env: { ZMES_DATABASE_ZM_CONF: zmConf } });
    assert.deepEqual(config.database, {
      host: 'zm-db.lan',
      port: 3307,
      socket: null,
      name: 'zoneminder',
      user: 'zmreader',
      password: 'zm-secret',
      zm_conf: zmConf,
    });
    assert.equal(sources.get('database.host'), 'zm.conf');
    assert.equal(sources.get('database.password'), 'zm.conf');
  });

  it('lose against the zmes file and env', () => {
    const file = dir.write('db/zmes.yml', `database:\n  zm_conf: "${zmConf}"\n  user: file-user\n`);
    const { config, sources } = loadConfig({ file, env: { ZMES_DATABASE_NAME: 'env-db' } });
    assert.equal(config.database.user, 'file-user');
    assert.equal(config.database.name, 'env-db');
    assert.equal(config.database.host, 'zm-db.lan');
    assert.equal(sources.get('database.user'), 'file');
    assert.equal(sources.get('database.name'), 'env');
  });

  it('take a socket from ZM_DB_HOST, unless host or port is set explicitly', () => {
    const socketConf = dir.write('sock/zm.conf', 'ZM_DB_HOST=localhost:/run/mysqld/mysqld.sock\n');
    const plain = loadConfig({ env: { ZMES_DATABASE_ZM_CONF: socketConf } });
    assert.equal(plain.config.database.socket, '/run/mysqld/mysqld.sock');
    assert.equal(plain.config.database.host, 'localhost');
    const explicitHost = loadConfig({ env: { ZMES_DATABASE_ZM_CONF: socketConf, ZMES_DATABASE_HOST: 'db.example' } });
    assert.equal(explicitHost.config.database.socket, null);
    assert.equal(explicitHost.config.database.host, 'db.example');
  });

  it('reject an invalid host from zm.conf, saying where it came from', () => {
    const badConf = dir.write('bad/zm.conf', 'ZM_DB_HOST=bad host!\n');
    const err = configError(() => loadConfig({ env: { ZMES_DATABASE_ZM_CONF: badConf } }), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /database\.host: "bad host!" is not valid \(zm\.conf\)/);
  });

  it('warn when an explicitly named zm.conf does not exist', () => {
    const { warnings, config } = loadConfig({ env: { ZMES_DATABASE_ZM_CONF: `${dir.path}/none/zm.conf` } });
    assert.ok(warnings.some((w) => w.startsWith('database.zm_conf:') && w.includes('not found')), warnings.join('\n'));
    assert.equal(config.database.user, 'zmuser');
  });
});
