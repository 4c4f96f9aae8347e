/** writeNpy → readNpy gives back dtype, shape and every bit; files numpy wrote are read. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Rng, fill, readNpy, readNpyFile, writeNpy, writeNpyFile } from '../src/index.js';

const SHAPES = [[7], [3, 5], [2, 3, 4], [2, 1, 3, 5], [1, 1, 1, 1]];

for (const Type of [Float32Array, Float64Array]) {
  for (const shape of SHAPES) {
    it(`${Type.name} shape (${shape.join(', ')})`, () => {
      const a = new Type(shape.reduce((x, y) => x * y, 1));
      fill(a, new Rng(shape.length));
      a[0] = -Infinity; // special values survive too
      if (a.length > 1) a[1] = -0;
      const back = readNpy(writeNpy(a, shape));
      expect(back.dtype).toBe(Type === Float32Array ? 'float32' : 'float64');
      expect(back.shape).toEqual(shape);
      expect(back.data).toBeInstanceOf(Type);
      expect(new Uint8Array(back.data.buffer)).toEqual(new Uint8Array(a.buffer));
    });
  }
}

it('headers are padded so the data starts at a multiple of 64, as numpy writes them', () => {
  const bytes = writeNpy(new Float32Array(6), [2, 3]);
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  expect((10 + headerLength) % 64).toBe(0);
  expect(bytes.length).toBe(10 + headerLength + 24);
  expect(new TextDecoder().decode(bytes.subarray(10, 10 + headerLength)).trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
});

it('reads files written by numpy 2.4 (v1.0 <f4 and v2.0 <f8)', () => {
  // np.save(b, np.array([1.5, -2.25, 3e-8], dtype='<f4'))
  const v1 = Buffer.from(
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAQwFnZADM=',
    'base64',
  );
  const a = readNpy(v1);
  expect(a.dtype).toBe('float32');
  expect(a.shape).toEqual([3]);
  expect(Array.from(a.data)).toEqual([1.5, -2.25, Math.fround(3e-8)]);
  // np.lib.format.write_array(b, np.array([[1.5, -2.25]], dtype='<f8'), version=(2, 0))
  const v2 = Buffer.from(
    'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMSwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4PwAAAAAAAALA',
    'base64',
  );
  const b = readNpy(v2);
  expect(b.dtype).toBe('float64');
  expect(b.shape).toEqual([1, 2]);
  expect(Array.from(b.data)).toEqual([1.5, -2.25]);
});

it('writeNpyFile / readNpyFile round trip through the file system', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-'));
  try {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    writeNpyFile(join(dir, 'a.npy'), a, [1, 2, 3]);
    const back = readNpyFile(join(dir, 'a.npy'));
    expect(back.shape).toEqual([1, 2, 3]);
    expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

it('reads float16 files, widened exactly to float32', () => {
  // numpy: np.array([1.0, -2.5, 65504, 2**-24, 0.333251953125], dtype='<f2').tobytes()
  const halves = Uint16Array.of(0x3c00, 0xc100, 0x7bff, 0x0001, 0x3555);
  const dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }";
  const header = dict.padEnd(128 - 10 - 1, ' ') + '\n';
  const bytes = new Uint8Array(128 + halves.byteLength);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  bytes.set(new Uint8Array(halves.buffer), 128);
  const a = readNpy(bytes);
  expect(a.dtype).toBe('float16');
  expect(a.data).toBeInstanceOf(Float32Array);
  expect([...a.data]).toEqual([1, -2.5, 65504, 2 ** -24, 0.333251953125]);
});
