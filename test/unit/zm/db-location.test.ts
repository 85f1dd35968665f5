import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessDeniedAdvice, resolveDbLocation } from '../../../src/zm/db-location.js';
import { zmDatabaseSettings } from '../../../src/config/zm-conf.js';

describe('resolveDbLocation: localhost means the socket, as for every MySQL client', () => {
  const sockets = (...present: string[]) => (path: string) => present.includes(path);

  test('an explicit socket wins over host and port', () => {
    assert.deepEqual(resolveDbLocation({ host: 'db.example', port: 3307, socket: '/srv/my.sock' }, sockets()).location, { kind: 'socket', path: '/srv/my.sock' });
  });

  test('localhost uses the first usual socket that exists', () => {
    const resolved = resolveDbLocation({ host: 'localhost', port: 3306 }, sockets('/var/run/mysqld/mysqld.sock', '/tmp/mysql.sock'));
    assert.deepEqual(resolved.location, { kind: 'socket', path: '/var/run/mysqld/mysqld.sock' });
    assert.equal(resolved.note, undefined);
    assert.equal(resolveDbLocation({ host: 'LocalHost', port: 3306 }, sockets('/run/mysqld/mysqld.sock')).location.kind, 'socket');
  });

  test('127.0.0.1, ::1 and other hosts mean TCP', () => {
    for (const host of ['127.0.0.1', '::1', 'zm.example', '192.0.2.4']) {
      assert.deepEqual(resolveDbLocation({ host, port: 3306 }, sockets('/run/mysqld/mysqld.sock')).location, { kind: 'tcp', host, port: 3306 });
    }
  });

  test('localhost without any socket falls back to TCP and says so', () => {
    const resolved = resolveDbLocation({ host: 'localhost', port: 3306 }, sockets(), ['/a.sock', '/b.sock']);
    assert.deepEqual(resolved.location, { kind: 'tcp', host: 'localhost', port: 3306 });
    assert.match(resolved.note ?? '', /no MariaDB socket was found \(looked in \/a\.sock, \/b\.sock\).*set database\.socket/);
  });
});

describe('accessDeniedAdvice', () => {
  const denied = "Access denied for user 'zmuser'@'127.0.0.1' (using password: YES)";

  test('a TCP login from loopback names the account the server saw and the socket fix', () => {
    const advice = accessDeniedAdvice(denied, { kind: 'tcp', host: '127.0.0.1', port: 3306 });
    assert.match(advice, /the server saw the login as 'zmuser'@'127\.0\.0\.1'/);
    assert.match(advice, /only over the unix socket: set database\.host to localhost/);
  });

  test('a login over the socket or from another host gets the plain advice, still naming the account', () => {
    const viaSocket = accessDeniedAdvice("Access denied for user 'zmuser'@'localhost' (using password: YES)", { kind: 'socket', path: '/run/mysqld/mysqld.sock' });
    assert.match(viaSocket, /'zmuser'@'localhost': check the database name, user and password/);
    assert.doesNotMatch(viaSocket, /unix socket/);
    assert.doesNotMatch(accessDeniedAdvice(denied, { kind: 'tcp', host: 'zm.example', port: 3306 }), /unix socket/);
  });
});

test('zm.conf: ZM_DB_SOCKET names the socket; a relative one is refused with a warning', () => {
  assert.equal(zmDatabaseSettings(new Map([['ZM_DB_SOCKET', '/srv/zm.sock']])).settings.socket, '/srv/zm.sock');
  const bad = zmDatabaseSettings(new Map([['ZM_DB_SOCKET', 'zm.sock']]));
  assert.equal(bad.settings.socket, undefined);
  assert.match(bad.warnings[0] ?? '', /ZM_DB_SOCKET "zm\.sock" is not an absolute path/);
});
