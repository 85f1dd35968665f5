import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRemoteAddress } from '../../../src/ws/connection.js';

test('IPv4 clients seen through an IPv6 listener are logged in dotted form', () => {
  assert.equal(formatRemoteAddress('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1');
  assert.equal(formatRemoteAddress('::ffff:c0a8:0117'), '192.168.1.23');
});

test('IPv6 addresses are compressed and IPv4 ones left alone', () => {
  assert.equal(formatRemoteAddress('0000:0000:0000:0000:0000:0000:0000:0001'), '::1');
  assert.equal(formatRemoteAddress('fe80:0000:0000:0000:0202:b3ff:fe1e:8329'), 'fe80::202:b3ff:fe1e:8329');
  assert.equal(formatRemoteAddress('10.0.0.7'), '10.0.0.7');
});
