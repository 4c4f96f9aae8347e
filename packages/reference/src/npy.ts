/**
 * NumPy .npy files of float16 / float32 / float64 ('<f2', '<f4', '<f8') in C order, 1- to 4-D: read (format versions
 * 1.0, 2.0, 3.0; float16 is widened to float32, exactly) and write float32 / float64 (1.0, or 2.0 when the header
 * needs it). The shape is kept as stored: a 4-D [B, H, N, d] file is read as
 * such and the caller flattens B·H.
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { FloatArray } from './backend.js';

export class NpyError extends Error {
  override readonly name = 'NpyError';
}

export type NpyDtype = 'float16' | 'float32' | 'float64';

export interface NpyArray {
  data: FloatArray;
  shape: number[];
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCR: Readonly<Record<string, NpyDtype>> = { '<f2': 'float16', '<f4': 'float32', '<f8': 'float64' };
const ITEM_BYTES: Readonly<Record<NpyDtype, number>> = { float16: 2, float32: 4, float64: 8 };

/** The value of an IEEE binary16 bit pattern. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const man = bits & 0x3ff;
  if (exp === 0x1f) return man ? NaN : sign * Infinity;
  return exp === 0 ? sign * man * 2 ** -24 : sign * (1 + man / 1024) * 2 ** (exp - 15);
}
const MAX_DIMS = 4;

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A readable name for a dtype string we do not take: "'<i4' (int32)", "'>f4' (float32, big-endian)". */
function dtypeName(descr: string): string {
  const kinds: Record<string, string> = { f: 'float', i: 'int', u: 'uint', b: 'bool', c: 'complex' };
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const kind = m ? kinds[m[2]!] : undefined;
  if (!m || !kind) return `'${descr}'`;
  return `'${descr}' (${kind}${8 * Number(m[3])}${m[1] === '>' ? ', big-endian' : ''})`;
}

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string): Header {
  const dict = text.trim();
  if (!dict.startsWith('{') || !dict.endsWith('}')) throw new NpyError(`malformed header: not a Python dict literal: ${JSON.stringify(dict.slice(0, 80))}`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(dict);
  if (!descr) {
    if (/['"]descr['"]\s*:/.test(dict)) throw new NpyError('unsupported dtype: a structured (record) dtype; only float16, float32 and float64 arrays are read');
    throw new NpyError("malformed header: no 'descr' entry");
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(dict);
  if (!fortran) throw new NpyError("malformed header: no 'fortran_order' entry (True or False)");
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(dict);
  if (!shape) throw new NpyError("malformed header: no 'shape' tuple");
  const dims = shape[1]!
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0);
  if (!dims.every((s) => /^\d+$/.test(s))) throw new NpyError(`malformed header: shape (${shape[1]}) is not a tuple of non-negative integers`);
  return { descr: descr[1]!, fortranOrder: fortran[1] === 'True', shape: dims.map(Number) };
}

/** Parse a whole .npy file. */
export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new NpyError('not a .npy file: the magic string \\x93NUMPY is missing');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw new NpyError(`unsupported .npy format version ${major}.${minor} (1.0, 2.0 and 3.0 are read)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyError('truncated header: the file ends inside the header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (bytes.length < dataOffset) throw new NpyError(`truncated header: it says ${headerLength} bytes, the file has ${bytes.length - 8 - lengthBytes}`);
  const headerBytes = bytes.subarray(8 + lengthBytes, dataOffset);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const header = parseHeader(text);

  const dtype = DESCR[header.descr];
  if (!dtype) throw new NpyError(`unsupported dtype ${dtypeName(header.descr)}: only '<f2' (float16), '<f4' (float32) and '<f8' (float64) are read`);
  if (header.fortranOrder) throw new NpyError('fortran_order is True: only C-order arrays are read (save with np.ascontiguousarray)');
  const { shape } = header;
  if (shape.length < 1 || shape.length > MAX_DIMS) throw new NpyError(`${shape.length}-D array (shape (${shape.join(', ')})): only 1- to 4-D arrays are read`);

  const itemSize = ITEM_BYTES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * itemSize;
  const have = bytes.length - dataOffset;
  if (have < dataBytes) throw new NpyError(`truncated data: shape (${shape.join(', ')}) of ${dtype} needs ${dataBytes} bytes, the file has ${have}`);
  if (have > dataBytes) throw new NpyError(`${have - dataBytes} bytes after the data: shape (${shape.join(', ')}) of ${dtype} needs ${dataBytes}`);
  if (!littleEndianHost) throw new NpyError('this reader needs a little-endian machine');
  // a copy (not Buffer#slice, which is a view): the data offset need not be aligned to the item size
  const own = new Uint8Array(bytes.subarray(dataOffset, dataOffset + dataBytes)).buffer;
  const data = dtype === 'float64' ? new Float64Array(own) : dtype === 'float32' ? new Float32Array(own) : Float32Array.from(new Uint16Array(own), halfToNumber);
  return { data, shape, dtype };
}

/** A .npy file (version 1.0, or 2.0 when the header does not fit) of a float32/float64 C-order array. */
export function writeNpy(array: FloatArray, shape: readonly number[]): Uint8Array {
  if (shape.length < 1 || shape.length > MAX_DIMS) throw new NpyError(`writeNpy: ${shape.length}-D shape: only 1- to 4-D arrays are written`);
  if (!shape.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new NpyError(`writeNpy: shape (${shape.join(', ')}) is not non-negative integers`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== array.length) throw new NpyError(`writeNpy: shape (${shape.join(', ')}) holds ${count} elements, the array has ${array.length}`);
  if (!littleEndianHost) throw new NpyError('this writer needs a little-endian machine');
  const descr = array instanceof Float32Array ? '<f4' : '<f8';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic + version + length + dict + padding + '\n' is a multiple of 64, as numpy writes it
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLength = total - prefix;
  const header = dict.padEnd(headerLength - 1, ' ') + '\n';
  const out = new Uint8Array(total + array.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), total);
  return out;
}

/** readNpy of a file; errors name the file. */
export function readNpyFile(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e);
    throw new NpyError(`${path}: cannot read: ${why}`);
  }
  try {
    return readNpy(bytes);
  } catch (e) {
    if (e instanceof NpyError) throw new NpyError(`${path}: ${e.message}`);
    throw e;
  }
}

export function writeNpyFile(path: string, array: FloatArray, shape: readonly number[]): void {
  writeFileSync(path, writeNpy(array, shape));
}
