// A generated corpus of malformed and hostile client frames, shared by the parser's unit test
// and the server's socket-level test.

/**
 * A generated corpus of malformed and hostile frames. Deterministic (seeded PRNG), so a
 * failure names an input that can be replayed.
 */


function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID_FRAMES = [
  '{"event":"auth","data":{"user":"admin","password":"secret","monlist":"1,2","intlist":"0,0","appversion":"1.8.001"},"token":"T"}',
  '{"event":"auth","data":{"user":"admin","password":"secret","appversion":"1.2.3"},"category":"normal"}',
  '{"event":"auth","category":"escontrol","data":{"password":"adminpw"}}',
  '{"event":"control","data":{"type":"filter","monlist":"1,2","intlist":"0,0","token":"T","appversion":"1.8.001"},"token":"T"}',
  '{"event":"control","data":{"type":"filter","monlist":"1,3","intlist":"60,60"}}',
  '{"event":"control","data":{"type":"version"}}',
  '{"event":"push","data":{"type":"token","platform":"android","token":"T","monlist":"1,2","intlist":"0,0","state":"enabled","appversion":"1.8.001"},"token":"T"}',
  '{"event":"push","data":{"type":"token","token":"T","platform":"ios","monlist":"1,2","intlist":"0,60","state":"enabled","profile":"Home"}}',
  '{"event":"push","data":{"type":"token","token":"T","platform":"ios","state":"disabled","profile":"Home"}}',
  '{"event":"push","data":{"type":"badge","badge":0,"appversion":"1.8.001"},"token":"T"}',
  '{"event":"push","data":{"type":"badge","badge":7}}',
  '{"event":"escontrol","data":{"command":"mute","monitors":[2,4]}}',
  '{"event":"escontrol","data":{"command":"edit","key":"use_hooks","val":"no"}}',
];

const HOSTILE_VALUES = [
  'null', 'true', 'false', '0', '-1', '1.5', '1e309', '-0', '9007199254740993', '""', '"x"', '[]', '{}',
  '[1,2]', '{"a":1}', '"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', '"😀"', '"\\u202e"', '"-1"', '" "',
  JSON.stringify('x'.repeat(5000)), '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}',
  '[[[[[[[[[[]]]]]]]]]]', '"\\"},{\\"event\\":\\"auth"', '"<script>alert(1)</script>"',
];

const TOP_KEYS = ['event', 'data', 'token', 'category'];
const DATA_KEYS = ['type', 'user', 'password', 'appversion', 'monlist', 'intlist', 'token', 'platform', 'state', 'profile', 'badge', 'command', 'monitors', 'key', 'val'];
const PLACEHOLDER = '"@@VALUE@@"';

function withValue(frame: string, path: readonly string[], rawValue: string): string {
  const obj = JSON.parse(frame) as Record<string, unknown>;
  const [first, second] = path;
  if (first === undefined) return frame;
  if (second === undefined) obj[first] = '@@VALUE@@';
  else {
    const data = typeof obj[first] === 'object' && obj[first] !== null ? (obj[first] as Record<string, unknown>) : {};
    data[second] = '@@VALUE@@';
    obj[first] = data;
  }
  return JSON.stringify(obj).replace(PLACEHOLDER, rawValue);
}

/** The corpus for a server whose frame limit is `maxBytes` (the default limit, 64 KiB). */
export function buildHostileCorpus(maxBytes = 64 * 1024): string[] {
  const MAX_BYTES = maxBytes;
  const rand = prng(0x5eed);
  const corpus: string[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

  // 1. every prefix of every valid frame (truncated JSON)
  for (const frame of VALID_FRAMES) for (let i = 0; i < frame.length; i++) corpus.push(frame.slice(0, i));

  // 2. a wrong type at every field of every frame
  for (const frame of VALID_FRAMES) {
    for (const key of TOP_KEYS) for (const value of HOSTILE_VALUES) corpus.push(withValue(frame, [key], value));
    for (const key of DATA_KEYS) for (const value of HOSTILE_VALUES) corpus.push(withValue(frame, ['data', key], value));
  }

  // 3. deep nesting, at the top, in data and in a value
  for (let depth = 1; depth <= 120; depth += 1) {
    corpus.push('['.repeat(depth) + ']'.repeat(depth));
    corpus.push('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
    corpus.push(`{"event":"escontrol","data":{"command":"x","v":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
    corpus.push(`{"event":"auth","data":${'{"user":'.repeat(depth)}"u"${'}'.repeat(depth)}}`);
  }
  corpus.push('['.repeat(100_000));
  corpus.push('{"event":"auth","data":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}');

  // 4. huge strings, around and above the size limit
  for (const size of [MAX_BYTES - 100, MAX_BYTES - 60, MAX_BYTES, MAX_BYTES + 1, MAX_BYTES * 4]) {
    for (const key of ['user', 'password', 'monlist', 'token', 'profile']) {
      corpus.push(JSON.stringify({ event: key === 'token' || key === 'profile' ? 'push' : 'auth', data: { type: 'token', platform: 'ios', [key]: 'x'.repeat(size) } }));
    }
    corpus.push(JSON.stringify({ event: 'x'.repeat(size) }));
    corpus.push('€'.repeat(Math.floor(size / 3) + 1));
  }

  // 5. unicode oddities in every string field
  const oddities = ['\ud800', '\udc00', '😀'.repeat(50), '\u202e\u200b\ufeff', 'ñ', '\u0000', '\u2028\u2029', '𝕏'];
  for (const frame of VALID_FRAMES) {
    for (const key of DATA_KEYS) for (const odd of oddities) corpus.push(withValue(frame, ['data', key], JSON.stringify(odd)));
  }

  // 6. prototype pollution attempts, plain and escaped
  const pollution = [
    '"__proto__":{"polluted":1}',
    '"constructor":{"prototype":{"polluted":1}}',
    '"prototype":{"polluted":1}',
    '"\\u005f_proto__":{"polluted":1}',
    '"__pro\\u0074o__":{"polluted":1}',
    '"constr\\u0075ctor":{"prototype":{"polluted":1}}',
    '"__proto__":[1,2,3]',
    '"__proto__":null',
  ];
  for (const frame of VALID_FRAMES) {
    for (const p of pollution) {
      corpus.push(frame.replace('{', `{${p},`));
      corpus.push(frame.replace('"data":{', `"data":{${p},`));
      corpus.push(frame.replace('"data":{', `"data":{"nested":{${p}},`));
      corpus.push(frame.replace('"data":{', `"data":{"list":[{${p}}],`));
    }
  }

  // 7. top levels that are not objects
  for (const value of HOSTILE_VALUES) corpus.push(value);
  corpus.push('', ' ', '\n', 'undefined', 'NaN', 'Infinity', '[{"event":"auth"}]', '"{\\"event\\":\\"auth\\"}"');

  // 8. binary-ish text: random bytes through the same UTF-8 decoding the server uses
  for (let i = 0; i < 2500; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(rand() * 300));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
    if (rand() < 0.3) bytes[0] = 0x7b; // '{' so the parser gets a little further
    corpus.push(bytes.toString('utf8'));
  }

  // 9. random mutations of valid frames
  const alphabet = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', 'e', '.', ' ', 'n', 't', 'a', '\u0000', 'é', '😀'];
  for (let i = 0; i < 4500; i++) {
    let text = pick(VALID_FRAMES);
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * (text.length + 1));
      const op = rand();
      if (op < 0.4) text = text.slice(0, at) + pick(alphabet) + text.slice(at);
      else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 5));
      else text = text.slice(0, at) + pick(alphabet) + text.slice(at + 1);
    }
    corpus.push(text);
  }
  return corpus;
}

