import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeControlCharacters } from '../../../src/log/logger.js';
import { memoryLogger } from '../../helpers/memory-log.js';

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN |INFO |DEBUG)( \[[^\]]*\])? /;

/** What the console transport would write for one call, as the log file sees it. */
function logged(message: string, module?: string): string {
  const mem = memoryLogger('debug');
  (module === undefined ? mem.log : mem.log.child(module)).info(message);
  assert.equal(mem.lines.length, 1);
  return mem.lines[0]!.message;
}

test('newline, CR and tab are shown as \\n, \\r and \\t', () => {
  assert.equal(escapeControlCharacters('a\nb\rc\td'), 'a\\nb\\rc\\td');
});

test('NUL, ESC, DEL and C1 controls are shown as \\xNN', () => {
  assert.equal(escapeControlCharacters('\u0000\u001b[31mred\u007f\u0085\u009b'), '\\x00\\x1b[31mred\\x7f\\x85\\x9b');
});

test('the Unicode line and paragraph separators are shown as \\u2028 and \\u2029', () => {
  assert.equal(escapeControlCharacters('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
});

test('printable text, including non-Latin scripts and emoji, is left alone', () => {
  const text = 'Garage – Einfahrt 📷 北门 "quoted" back\\slash';
  assert.equal(escapeControlCharacters(text), text);
});

test('a monitor name carrying a forged log line stays on its own line', () => {
  const forged = 'cam\n2026-01-01T00:00:00.000Z ERROR [auth] forged\r\n\u2028INFO  x\u0000';
  const line = logged(`monitor ${forged} (1) added`, 'events');
  assert.match(line, LINE);
  assert.ok(!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(line), JSON.stringify(line));
  assert.ok(line.endsWith('monitor cam\\n2026-01-01T00:00:00.000Z ERROR [auth] forged\\r\\n\\u2028INFO  x\\x00 (1) added'), line);
});

test('the module label is escaped too', () => {
  const line = logged('hello', 'ws\nERROR forged');
  assert.ok(line.includes(' [ws\\nERROR forged] hello'), line);
  assert.equal(line.split('\n').length, 1);
});

test('a secret is redacted even when it holds a control character', () => {
  const mem = memoryLogger('debug', ['pa\tss\nword']);
  mem.log.warn('password pa\tss\nword rejected');
  assert.ok(mem.lines[0]!.message.endsWith('password *** rejected'), mem.lines[0]!.message);
});

test('debug messages given as a function are escaped as well', () => {
  const mem = memoryLogger('debug');
  mem.log.debug(() => 'a\nb');
  assert.ok(mem.lines[0]!.message.endsWith(' a\\nb'));
});
