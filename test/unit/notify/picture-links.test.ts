import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PictureLinks } from '../../../src/notify/pictures/picture-links.js';

const key = Buffer.alloc(32, 7);
const links = new PictureLinks({ baseUrl: 'https://zmes.example', lifetimeSec: 3600, key: () => key });
const now = 1_800_000_000_000;

function parts(link: string): [string, string] {
  const url = new URL(link);
  return [url.pathname.slice('/picture/'.length), url.search.slice(1)];
}

test('a link is valid for its lifetime, then expired; another key or event does not match', () => {
  const [id, query] = parts(links.sign(9007199254740993n, now));
  assert.deepEqual(links.verify(id, query, now), { ok: true, eventId: 9007199254740993n });
  assert.deepEqual(links.verify(id, query, now + 3600_000), { ok: true, eventId: 9007199254740993n });
  assert.deepEqual(links.verify(id, query, now + 3601_000), { ok: false, reason: 'expired' });
  assert.deepEqual(links.verify('9007199254740994', query, now), { ok: false, reason: 'signature' });
  const other = new PictureLinks({ baseUrl: 'https://zmes.example', lifetimeSec: 3600, key: () => Buffer.alloc(32, 8) });
  assert.deepEqual(other.verify(id, query, now), { ok: false, reason: 'signature' });
});

test('malformed requests are refused before any signature work', () => {
  for (const [id, query] of [['0', 'exp=1&sig=' + 'a'.repeat(43)], ['12', ''], ['12', 'exp=x&sig=' + 'a'.repeat(43)], ['1e3', 'exp=1&sig=' + 'a'.repeat(43)], ['12', 'exp=1&sig=short']]) {
    assert.deepEqual(links.verify(id!, query!, now), { ok: false, reason: 'malformed' }, `${id} ${query}`);
  }
});
