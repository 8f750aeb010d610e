/**
 * A synchronous gzip reader (RFC 1952 members holding RFC 1951 DEFLATE data), for trace files.
 *
 * Trace files are written with the built-in `CompressionStream("gzip")` and can be read with
 * `DecompressionStream` in any browser, but that API is asynchronous while a workload's setup is
 * not: the shipped traces are decoded on first use, inside `setup`. This reader is a plain
 * canonical-Huffman decoder (decoding bit by bit, as in zlib's reference `puff.c` design),
 * verifies each member's CRC-32 and length, and names the problem in a one-line error (not gzip,
 * truncated, corrupt).
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

/** Error for data that is not a complete, valid gzip stream. */
export class GzipError extends RangeError {
  /** Creates the error. */
  constructor(detail: string) {
    super(detail);
    this.name = "GzipError";
  }
}

const LEN_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LEN_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: codes per length and symbols in code order. */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
}

function huffman(lengths: ArrayLike<number>): Huffman {
  const count = new Uint16Array(16);
  const symbol = new Uint16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) count[lengths[i]]++;
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  for (let i = 0; i < lengths.length; i++) if (lengths[i] !== 0) symbol[offs[lengths[i]]++] = i;
  return { count, symbol };
}

let fixedCodes: [Huffman, Huffman] | null = null;

function fixed(): [Huffman, Huffman] {
  if (!fixedCodes) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144);
    l.fill(9, 144, 256);
    l.fill(7, 256, 280);
    l.fill(8, 280, 288);
    fixedCodes = [huffman(l), huffman(new Uint8Array(30).fill(5))];
  }
  return fixedCodes;
}

const TRUNCATED = "Gzip data is truncated (the file ends inside the compressed stream)";

/** Inflates the DEFLATE stream at `src[start..]`; returns the bytes and the end offset. */
function inflate(src: Uint8Array, start: number): { out: Uint8Array; end: number } {
  let pos = start;
  let bitBuf = 0;
  let bitCount = 0;
  let out = new Uint8Array(Math.max(1024, (src.length - start) * 4));
  let n = 0;
  const bits = (k: number): number => {
    while (bitCount < k) {
      if (pos >= src.length) throw new GzipError(TRUNCATED);
      bitBuf |= src[pos++] << bitCount;
      bitCount += 8;
    }
    const v = bitBuf & ((1 << k) - 1);
    bitBuf >>>= k;
    bitCount -= k;
    return v;
  };
  const decode = (h: Huffman): number => {
    let code = 0, first = 0, index = 0;
    for (let len = 1; len <= 15; len++) {
      code |= bits(1);
      const c = h.count[len];
      if (code - c < first) return h.symbol[index + (code - first)];
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    throw new GzipError("Gzip data is corrupt (an invalid Huffman code)");
  };
  const room = (k: number): void => {
    if (n + k <= out.length) return;
    const bigger = new Uint8Array(Math.max(out.length * 2, n + k));
    bigger.set(out.subarray(0, n));
    out = bigger;
  };
  let last = 0;
  while (!last) {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitBuf = 0;
      bitCount = 0;
      if (pos + 4 > src.length) throw new GzipError(TRUNCATED);
      const len = src[pos] | (src[pos + 1] << 8);
      const nlen = src[pos + 2] | (src[pos + 3] << 8);
      if ((len ^ 0xffff) !== nlen) throw new GzipError("Gzip data is corrupt (a stored block)");
      pos += 4;
      if (pos + len > src.length) throw new GzipError(TRUNCATED);
      room(len);
      out.set(src.subarray(pos, pos + len), n);
      n += len;
      pos += len;
      continue;
    }
    let lit: Huffman, dist: Huffman;
    if (type === 1) [lit, dist] = fixed();
    else if (type === 2) {
      const nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
      const lengths = new Uint8Array(19);
      for (let i = 0; i < ncode; i++) lengths[CODE_LENGTH_ORDER[i]] = bits(3);
      const lencode = huffman(lengths);
      const all = new Uint8Array(nlen + ndist);
      for (let i = 0; i < nlen + ndist;) {
        const sym = decode(lencode);
        if (sym < 16) {
          all[i++] = sym;
          continue;
        }
        let value = 0, rep: number;
        if (sym === 16) {
          if (i === 0) throw new GzipError("Gzip data is corrupt (a repeat with no length)");
          value = all[i - 1];
          rep = 3 + bits(2);
        } else if (sym === 17) rep = 3 + bits(3);
        else rep = 11 + bits(7);
        if (i + rep > nlen + ndist) throw new GzipError("Gzip data is corrupt (too many lengths)");
        all.fill(value, i, i + rep);
        i += rep;
      }
      lit = huffman(all.subarray(0, nlen));
      dist = huffman(all.subarray(nlen));
    } else throw new GzipError("Gzip data is corrupt (block type 3)");
    for (;;) {
      const sym = decode(lit);
      if (sym < 256) {
        room(1);
        out[n++] = sym;
      } else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) throw new GzipError("Gzip data is corrupt (a bad length code)");
        const len = LEN_BASE[li] + bits(LEN_EXTRA[li]);
        const di = decode(dist);
        if (di >= 30) throw new GzipError("Gzip data is corrupt (a bad distance code)");
        const d = DIST_BASE[di] + bits(DIST_EXTRA[di]);
        if (d > n) throw new GzipError("Gzip data is corrupt (a distance too far back)");
        room(len);
        for (let k = 0; k < len; k++, n++) out[n] = out[n - d];
      }
    }
  }
  return { out: out.subarray(0, n), end: pos };
}

let crcTable: Uint32Array | null = null;

/**
 * CRC-32 (the gzip/zlib polynomial 0xEDB88320).
 *
 * @example Usage
 * ```ts
 * import { crc32 } from "./gzip.ts";
 * if (crc32(new TextEncoder().encode("123456789")) !== 0xcbf43926) throw new Error();
 * ```
 */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Whether `data` starts with the gzip magic bytes (1f 8b).
 *
 * @example Usage
 * ```ts
 * import { isGzip } from "./gzip.ts";
 * if (!isGzip(new Uint8Array([0x1f, 0x8b, 8]))) throw new Error();
 * ```
 */
export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/**
 * Decompresses gzip data (one or more members) synchronously; throws a {@link GzipError} naming
 * the problem when it is not gzip, is truncated or is corrupt.
 *
 * @example Usage
 * ```ts
 * import { gunzip } from "./gzip.ts";
 * // "hi\n" as CompressionStream("gzip") writes it (a fixed block, then an empty stored one).
 * const gz = new Uint8Array([31, 139, 8, 0, 0, 0, 0, 0, 0, 255, 202, 200, 228, 2, 0, 0, 0, 255,
 *   255, 3, 0, 122, 122, 111, 237, 3, 0, 0, 0]);
 * if (new TextDecoder().decode(gunzip(gz)) !== "hi\n") throw new Error();
 * ```
 */
export function gunzip(data: Uint8Array): Uint8Array {
  if (!isGzip(data)) throw new GzipError("Not gzip data (the file does not start with 1f 8b)");
  const parts: Uint8Array[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (!isGzip(data.subarray(pos))) {
      throw new GzipError(`Gzip data is corrupt (unexpected bytes after member at ${pos})`);
    }
    if (pos + 10 > data.length) throw new GzipError(TRUNCATED);
    if (data[pos + 2] !== 8) throw new GzipError("Gzip data uses an unknown compression method");
    const flags = data[pos + 3];
    let p = pos + 10;
    if (flags & 4) {
      if (p + 2 > data.length) throw new GzipError(TRUNCATED);
      p += 2 + (data[p] | (data[p + 1] << 8));
    }
    for (const bit of [8, 16]) {
      if (flags & bit) {
        while (p < data.length && data[p] !== 0) p++;
        p++;
      }
    }
    if (flags & 2) p += 2;
    if (p > data.length) throw new GzipError(TRUNCATED);
    const { out, end } = inflate(data, p);
    if (end + 8 > data.length) throw new GzipError(TRUNCATED);
    const crc =
      (data[end] | (data[end + 1] << 8) | (data[end + 2] << 16) | (data[end + 3] << 24)) >>>
      0;
    const size =
      (data[end + 4] | (data[end + 5] << 8) | (data[end + 6] << 16) | (data[end + 7] << 24)) >>> 0;
    if (crc32(out) !== crc) throw new GzipError("Gzip data is corrupt (CRC-32 mismatch)");
    if ((out.length >>> 0) !== size) throw new GzipError("Gzip data is corrupt (length mismatch)");
    parts.push(out);
    pos = end + 8;
  }
  if (parts.length === 1) return parts[0];
  const all = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    all.set(x, o);
    o += x.length;
  }
  return all;
}
