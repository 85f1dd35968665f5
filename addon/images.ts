/**
 * Draws the add-on's icon.png (128x128) and logo.png (250x100): a camera with a
 * notification dot, and the word "zmes". No image library: shapes are rasterised with 4x4
 * supersampling and written as RGBA PNGs with zlib.
 *
 *   node --import tsx addon/images.ts     rewrites icon.png and logo.png at the root
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { ROOT } from './lint.js';

type Rgba = readonly [number, number, number, number];
/** Coverage test of a shape at a (sub)pixel position. */
type Shape = (x: number, y: number) => boolean;

const NAVY: Rgba = [31, 58, 95, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const ORANGE: Rgba = [245, 124, 0, 255];

class Canvas {
  readonly pixels: Float64Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Float64Array(width * height * 4);
  }

  /** Paints a shape over what is there, anti-aliased by 4x4 supersampling. */
  fill(shape: Shape, color: Rgba): void {
    const n = 4;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        let hits = 0;
        for (let sy = 0; sy < n; sy++) for (let sx = 0; sx < n; sx++) if (shape(x + (sx + 0.5) / n, y + (sy + 0.5) / n)) hits++;
        if (hits === 0) continue;
        const alpha = (hits / (n * n)) * (color[3] / 255);
        const i = (y * this.width + x) * 4;
        const under = this.pixels[i + 3]!;
        const out = alpha + under * (1 - alpha);
        for (let c = 0; c < 3; c++) {
          const mixed = color[c]! * alpha + this.pixels[i + c]! * under * (1 - alpha);
          this.pixels[i + c] = out === 0 ? 0 : mixed / out;
        }
        this.pixels[i + 3] = out;
      }
    }
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 4 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      const row = y * (this.width * 4 + 1);
      raw[row] = 0; // filter: none
      for (let x = 0; x < this.width; x++) {
        const i = (y * this.width + x) * 4;
        for (let c = 0; c < 3; c++) raw[row + 1 + x * 4 + c] = Math.round(this.pixels[i + c]!);
        raw[row + 1 + x * 4 + 3] = Math.round(this.pixels[i + 3]! * 255);
      }
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.width, 0);
    header.writeUInt32BE(this.height, 4);
    header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter set, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const circle = (cx: number, cy: number, r: number): Shape => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const roundRect = (x0: number, y0: number, x1: number, y1: number, r: number): Shape => (x, y) => {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};

/** A camera with a notification dot in a box of `size` at (ox, oy). */
function drawCamera(canvas: Canvas, ox: number, oy: number, size: number, background: boolean): void {
  const s = size / 128;
  const at = (v: number) => v * s;
  if (background) canvas.fill(roundRect(ox, oy, ox + size, oy + size, at(26)), NAVY);
  const ink = background ? WHITE : NAVY;
  const hole = background ? NAVY : WHITE;
  canvas.fill(roundRect(ox + at(46), oy + at(30), ox + at(78), oy + at(46), at(5)), ink); // viewfinder
  canvas.fill(roundRect(ox + at(18), oy + at(40), ox + at(110), oy + at(102), at(12)), ink); // body
  canvas.fill(circle(ox + at(64), oy + at(71), at(23)), hole); // lens ring
  canvas.fill(circle(ox + at(64), oy + at(71), at(15)), ink); // lens
  canvas.fill(circle(ox + at(58), oy + at(65), at(4.5)), hole); // glint
  canvas.fill(circle(ox + at(104), oy + at(30), at(17)), hole); // dot outline
  canvas.fill(circle(ox + at(104), oy + at(30), at(13)), ORANGE); // notification dot
}

const GLYPHS: Record<string, readonly string[]> = {
  z: ['#####', '...#.', '..#..', '.#...', '#####'],
  m: ['##.#.', '#.#.#', '#.#.#', '#.#.#', '#.#.#'],
  e: ['.###.', '#...#', '#####', '#....', '.####'],
  s: ['.####', '#....', '.###.', '....#', '####.'],
};

function drawWord(canvas: Canvas, word: string, ox: number, oy: number, cell: number, color: Rgba): void {
  let x = ox;
  for (const letter of word) {
    const rows = GLYPHS[letter]!;
    rows.forEach((row, r) => {
      [...row].forEach((mark, c) => {
        if (mark !== '#') return;
        const x0 = x + c * cell;
        const y0 = oy + r * cell;
        canvas.fill(roundRect(x0, y0, x0 + cell, y0 + cell, 0), color);
      });
    });
    x += 6 * cell;
  }
}

export function renderIcon(): Buffer {
  const canvas = new Canvas(128, 128);
  drawCamera(canvas, 0, 0, 128, true);
  return canvas.png();
}

export function renderLogo(): Buffer {
  const canvas = new Canvas(250, 100);
  drawCamera(canvas, 6, 6, 88, true);
  drawWord(canvas, 'zmes', 104, 35, 6, NAVY);
  return canvas.png();
}

if (process.argv[1] !== undefined && /images\.[tj]s$/.test(process.argv[1])) {
  writeFileSync(join(ROOT, 'icon.png'), renderIcon());
  writeFileSync(join(ROOT, 'logo.png'), renderLogo());
  console.log('icon.png and logo.png written');
}
