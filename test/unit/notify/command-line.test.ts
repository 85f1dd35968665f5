import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandLineError, shellLookingWords, splitCommandLine } from '../../../src/notify/hooks/command-line.js';

test('a plain path is one word; arguments split on whitespace', () => {
  assert.deepEqual(splitCommandLine('/config/hooks/start.sh'), ['/config/hooks/start.sh']);
  assert.deepEqual(splitCommandLine('  /usr/bin/python3   /config/detect.py\t--fast '), ['/usr/bin/python3', '/config/detect.py', '--fast']);
});

test('quoted paths with spaces work in single quotes, double quotes and with a backslash', () => {
  assert.deepEqual(splitCommandLine('"/config/my hooks/start.sh" -v'), ['/config/my hooks/start.sh', '-v']);
  assert.deepEqual(splitCommandLine("'/config/my hooks/start.sh'"), ['/config/my hooks/start.sh']);
  assert.deepEqual(splitCommandLine('/config/my\\ hooks/start.sh'), ['/config/my hooks/start.sh']);
  assert.deepEqual(splitCommandLine('"a \\"quoted\\" \\\\ word" \'it\'"s"'), ['a "quoted" \\ word', 'its']);
  assert.deepEqual(splitCommandLine('run ""'), ['run', ''], 'an empty quoted argument is kept');
});

test('shell syntax is not interpreted: $(), backticks, ; and > stay literal characters', () => {
  assert.deepEqual(splitCommandLine('hook.sh $(rm -rf /) `id`;ls > /tmp/x'), ['hook.sh', '$(rm', '-rf', '/)', '`id`;ls', '>', '/tmp/x']);
  assert.deepEqual(shellLookingWords(['hook.sh', '$(rm', '>', '/tmp/x', '$HOME', '2>&1', 'plain']), ['$(rm', '>', '$HOME', '2>&1']);
});

test('unterminated quotes, a trailing backslash and an empty line are errors', () => {
  assert.throws(() => splitCommandLine('"/config/start.sh'), CommandLineError);
  assert.throws(() => splitCommandLine("'x"), /unterminated single quote/);
  assert.throws(() => splitCommandLine('x\\'), /lone backslash/);
  assert.throws(() => splitCommandLine('   '), /empty command/);
});
