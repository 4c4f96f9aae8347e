/** Every malformed or unsupported .npy file is refused with an NpyError whose message names the problem. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NpyError, readNpy, readNpyFile, writeNpy } from '../src/index.js';

/** A .npy file with this header text and data bytes (format 1.0 unless told). */
function npy(dict: string, dataBytes: number, version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const header = `${dict}\n`;
  const out = new Uint8Array(prefix + header.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  return out;
}

const dict = (descr: string, fortran: string, shape: string): string => `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function refusal(bytes: Uint8Array): string {
  try {
    readNpy(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(NpyError);
    return (e as Error).message;
  }
  throw new Error('readNpy accepted the file');
}

describe('readNpy refuses', () => {
  it('a file without the magic string', () => {
    expect(refusal(new TextEncoder().encode('PK\x03\x04 this is a zip file'))).toMatch(/magic string/);
    expect(refusal(new Uint8Array(4))).toMatch(/magic string/);
  });
  it('an unknown format version', () => {
    const bytes = npy(dict("'<f4'", 'False', '(1,)'), 4);
    bytes[6] = 4;
    expect(refusal(bytes)).toMatch(/format version 4\.0/);
  });
  it('a file that ends inside the header length', () => {
    expect(refusal(npy(dict("'<f4'", 'False', '(1,)'), 4, 2).subarray(0, 10))).toMatch(/truncated header/);
  });
  it('a file shorter than its header length says', () => {
    expect(refusal(npy(dict("'<f4'", 'False', '(1,)'), 0).subarray(0, 40))).toMatch(/truncated header: it says \d+ bytes/);
  });
  it('a header that is not a dict', () => {
    expect(refusal(npy("['descr', '<f4']", 0))).toMatch(/malformed header: not a Python dict/);
  });
  it('a header without descr, fortran_order or shape', () => {
    expect(refusal(npy("{'fortran_order': False, 'shape': (1,), }", 4))).toMatch(/no 'descr'/);
    expect(refusal(npy("{'descr': '<f4', 'shape': (1,), }", 4))).toMatch(/no 'fortran_order'/);
    expect(refusal(npy("{'descr': '<f4', 'fortran_order': False, }", 4))).toMatch(/no 'shape'/);
  });
  it('a shape that is not a tuple of integers', () => {
    expect(refusal(npy(dict("'<f4'", 'False', '(2, x)'), 8))).toMatch(/shape \(2, x\) is not a tuple/);
    expect(refusal(npy(dict("'<f4'", 'False', '(-1,)'), 4))).toMatch(/not a tuple of non-negative integers/);
  });
  it('other dtypes, naming them', () => {
    expect(refusal(npy(dict("'<i4'", 'False', '(2,)'), 8))).toMatch(/unsupported dtype '<i4' \(int32\)/);
    expect(refusal(npy(dict("'>f2'", 'False', '(2,)'), 4))).toMatch(/unsupported dtype '>f2' \(float16, big-endian\)/);
    expect(refusal(npy(dict("'>f4'", 'False', '(2,)'), 8))).toMatch(/unsupported dtype '>f4' \(float32, big-endian\)/);
    expect(refusal(npy(dict("'<U3'", 'False', '(2,)'), 24))).toMatch(/unsupported dtype '<U3'/);
    expect(refusal(npy(dict("[('x', '<f4'), ('y', '<f4')]", 'False', '(2,)'), 16))).toMatch(/structured/);
  });
  it('Fortran order', () => {
    expect(refusal(npy(dict("'<f4'", 'True', '(2, 3)'), 24))).toMatch(/fortran_order is True/);
  });
  it('0-D and 5-D arrays', () => {
    expect(refusal(npy(dict("'<f8'", 'False', '()'), 8))).toMatch(/0-D array/);
    expect(refusal(npy(dict("'<f8'", 'False', '(1, 1, 1, 1, 2)'), 16))).toMatch(/5-D array .*only 1- to 4-D/);
  });
  it('truncated data', () => {
    expect(refusal(npy(dict("'<f4'", 'False', '(2, 3)'), 20))).toMatch(/truncated data: shape \(2, 3\) of float32 needs 24 bytes, the file has 20/);
  });
  it('bytes after the data', () => {
    expect(refusal(npy(dict("'<f8'", 'False', '(2,)'), 17))).toMatch(/1 bytes after the data/);
  });
});

describe('readNpyFile', () => {
  it('names a missing file', () => {
    expect(() => readNpyFile('/nonexistent/q.npy')).toThrow(new NpyError('/nonexistent/q.npy: cannot read: no such file'));
  });
  it('puts the file name before the format problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    try {
      const path = join(dir, 'k.npy');
      writeFileSync(path, npy(dict("'<i8'", 'False', '(1,)'), 8));
      expect(() => readNpyFile(path)).toThrow(`${path}: unsupported dtype '<i8' (int64)`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('writeNpy refuses', () => {
  it('a shape that does not hold the array', () => {
    expect(() => writeNpy(new Float32Array(5), [2, 3])).toThrow(/shape \(2, 3\) holds 6 elements, the array has 5/);
  });
  it('more than 4 dimensions', () => {
    expect(() => writeNpy(new Float32Array(1), [1, 1, 1, 1, 1])).toThrow(/5-D shape/);
  });
});
