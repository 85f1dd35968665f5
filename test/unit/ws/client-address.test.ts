import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress } from '../../../src/ws/connection.js';
import { parseAddressList } from '../../../src/config/formats.js';

const proxies = parseAddressList('10.0.0.1,172.30.32.0/23,fd00::/8');

test('without trusted proxies, or from a peer that is not one, X-Forwarded-For is ignored', () => {
  assert.equal(clientAddress('10.0.0.1', '203.0.113.5', undefined), '10.0.0.1');
  assert.equal(clientAddress('10.0.0.1', '203.0.113.5', parseAddressList('')), '10.0.0.1');
  assert.equal(clientAddress('192.168.1.50', '203.0.113.5', proxies), '192.168.1.50');
  assert.equal(clientAddress('10.0.0.1', undefined, proxies), '10.0.0.1');
});

test('from a trusted proxy the client is the rightmost hop that is not itself a trusted proxy', () => {
  assert.equal(clientAddress('10.0.0.1', '203.0.113.5', proxies), '203.0.113.5');
  assert.equal(clientAddress('10.0.0.1', '198.51.100.1, 203.0.113.5', proxies), '203.0.113.5', 'what the client prepended is not used');
  assert.equal(clientAddress('172.30.33.9', '203.0.113.5, 10.0.0.1', proxies), '203.0.113.5', 'through two proxies');
  assert.equal(clientAddress('10.0.0.1', '172.30.32.2, 10.0.0.1', proxies), '172.30.32.2', 'every hop trusted: the furthest');
});

test('IPv6 hops are accepted in their usual spellings and compared in canonical form', () => {
  assert.equal(clientAddress('10.0.0.1', '2001:DB8:0:0::1', proxies), '2001:db8::1');
  assert.equal(clientAddress('10.0.0.1', '[2001:db8::2]', proxies), '2001:db8::2');
  assert.equal(clientAddress('10.0.0.1', '::ffff:203.0.113.7', proxies), '203.0.113.7');
  assert.equal(clientAddress('fd00::1', '203.0.113.5, fd12::3', proxies), '203.0.113.5');
});

test('a hop that is not an IP address stops the walk and leaves the peer as the client', () => {
  for (const header of ['garbage', '203.0.113.5, unknown', '203.0.113.5:4711', '203.0.113.5,', 'fe80::1%eth0', '', ' , ']) {
    assert.equal(clientAddress('10.0.0.1', header, proxies), '10.0.0.1', JSON.stringify(header));
  }
  assert.equal(clientAddress('10.0.0.1', 'garbage, 203.0.113.5', proxies), '203.0.113.5', 'left of the client is never read');
});
