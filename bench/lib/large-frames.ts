// The frames of bench/large-frame.ts, each as close to `size` bytes as the shape allows.

export const FRAME_KINDS = ['long-string', 'escaped-string', 'long-user', 'many-keys', 'wide-nesting', 'wide-escaped', 'deep-nesting'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

export const FRAME_DESCRIPTIONS: Readonly<Record<FrameKind, string>> = {
  'long-string': 'control/version with one long ASCII string in an extra key',
  'escaped-string': 'the same, the string spelt as \\u0041 escapes (the reviver path)',
  'long-user': 'auth whose user name is the long string (unauthenticated)',
  'many-keys': 'control/version whose data has ~90,000 extra keys',
  'wide-nesting': 'control/version with ~17,000 arrays nested 32 deep (exactly the depth limit)',
  'wide-escaped': 'wide-nesting plus one \\u escape anywhere, which sends JSON.parse through the reviver',
  'deep-nesting': 'one array nested ~524,000 deep (refused: too deep)',
};

function fill(prefix: string, suffix: string, size: number, unit: string): string {
  const count = Math.max(0, Math.floor((size - prefix.length - suffix.length) / unit.length));
  return prefix + unit.repeat(count) + suffix;
}

export function buildFrame(kind: FrameKind, size: number): string {
  switch (kind) {
    case 'long-string':
      return fill('{"event":"control","data":{"type":"version","pad":"', '"}}', size, 'a');
    case 'escaped-string':
      return fill('{"event":"control","data":{"type":"version","pad":"', '"}}', size, '\\u0041');
    case 'long-user':
      return fill('{"event":"auth","data":{"password":"x","user":"', '"}}', size, 'a');
    case 'many-keys': {
      const head = '{"event":"control","data":{"type":"version"';
      let body = '';
      for (let i = 0; head.length + body.length + 20 < size; i++) body += `,"k${i}":0`;
      return `${head}${body}}}`;
    }
    case 'wide-nesting':
    case 'wide-escaped': {
      // Envelope, data and x take three levels; 29 more reach the parser's limit of 32 exactly.
      const unit = `${'['.repeat(29)}0${']'.repeat(29)},`;
      const inner = fill('', '', size - 80, unit).slice(0, -1);
      const extra = kind === 'wide-escaped' ? '"u":"\\u0041",' : '';
      return `{"event":"control","data":{"type":"version",${extra}"x":[${inner}]}}`;
    }
    case 'deep-nesting': {
      const half = Math.floor((size - 2) / 2);
      return `[${'['.repeat(half - 1)}${']'.repeat(half - 1)}]`;
    }
  }
}
