/**
 * Storage dtypes of Q, K, V, dO, O, dQ, dK, dV on the device. lse stays float32 and every accumulation is float32 in
 * every dtype (docs/algorithm.md, "Half precision"). Values of a half dtype are held in Float32Array (an exact
 * widening); roundTo gives the value a float64 or float32 number takes when stored in the dtype.
 */
export type Dtype = 'float32' | 'float16' | 'bfloat16';
export const DTYPES: readonly Dtype[] = ['float32', 'float16', 'bfloat16'];

export function isDtype(x: string): x is Dtype {
  return (DTYPES as readonly string[]).includes(x);
}

interface Format {
  /** explicit mantissa bits */
  mantissa: number;
  /** exponent of the smallest normal number */
  minExp: number;
  /** the largest finite value */
  max: number;
}

const FORMATS: Readonly<Record<Exclude<Dtype, 'float32'>, Format>> = {
  float16: { mantissa: 10, minExp: -14, max: 65504 },
  bfloat16: { mantissa: 7, minExp: -126, max: 3.3895313892515355e38 },
};

/** x rounded to a multiple of `ulp`, ties to even (x / ulp is exact: ulp is a power of two). */
function roundToEven(x: number, ulp: number): number {
  const y = x / ulp;
  let r = Math.round(y);
  if (Math.abs(y - Math.trunc(y)) === 0.5 && r % 2 !== 0) r -= 1;
  return r * ulp;
}

const bits32 = new Float32Array(1);
const word32 = new Uint32Array(bits32.buffer);
const HALF_OVERFLOW = 0x477ff000; // 65520 = 65504 + half an ulp: from here float16 rounds to ±Infinity
const HALF_MIN_NORMAL = 0x38800000; // 2^-14

/**
 * A float32 value stored in a half dtype by its bits (the hot path: inputs, the textbook's products): the dropped
 * mantissa bits rounded to nearest even by the carry trick; float16 subnormals (a fixed ulp of 2^-24) by roundToEven.
 */
function roundFloat32Bits(dtype: 'float16' | 'bfloat16', x: number): number {
  bits32[0] = x;
  const b = word32[0]!;
  const abs = b & 0x7fffffff;
  if (abs >= 0x7f800000) return x; // ±Infinity, NaN
  const sign = b & 0x80000000;
  let r: number;
  if (dtype === 'bfloat16') {
    r = (abs + 0x7fff + ((abs >>> 16) & 1)) & 0xffff0000; // a carry past the largest finite value gives Infinity
  } else if (abs >= HALF_OVERFLOW) {
    return sign ? -Infinity : Infinity;
  } else if (abs < HALF_MIN_NORMAL) {
    return roundToEven(x, 2 ** -24);
  } else {
    r = (abs + 0xfff + ((abs >>> 13) & 1)) & 0xffffe000;
  }
  word32[0] = (sign | r) >>> 0;
  return bits32[0]!;
}

/**
 * x stored in `dtype`, round to nearest, ties to even (IEEE 754's default, what a conversion on the GPU does);
 * beyond the largest finite value (by half an ulp or more) ±Infinity, NaN stays NaN. float32: Math.fround.
 */
export function roundTo(dtype: Dtype, x: number): number {
  if (dtype === 'float32') return Math.fround(x);
  return Math.fround(x) === x ? roundFloat32Bits(dtype, x) : roundNumber(dtype, x);
}

/** roundTo for any float64 number, by arithmetic on its exponent (the path of values that are not float32). */
export function roundNumber(dtype: Exclude<Dtype, 'float32'>, x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const { mantissa, minExp, max } = FORMATS[dtype];
  const exp = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  // log2 of a value just below a power of two may round up to it: the ulp is then one step too coarse, which the
  // rounding below cannot tell from a tie, so step back
  const e = 2 ** exp > Math.abs(x) ? exp - 1 : exp;
  const r = roundToEven(x, 2 ** (Math.max(e, minExp) - mantissa));
  return Math.abs(r) > max ? Math.sign(r) * Infinity : r;
}

/** Every element of `a` rounded to `dtype` in place (float32 storage); returns `a`. */
export function roundArray<T extends Float32Array | Float64Array>(dtype: Dtype, a: T): T {
  if (dtype === 'float32' && a instanceof Float32Array) return a;
  for (let i = 0; i < a.length; i++) a[i] = roundTo(dtype, a[i]!);
  return a;
}

/** The spacing of `dtype` numbers at |x| (the smallest subnormal's at 0). */
export function ulpOf(dtype: Dtype, x: number): number {
  const f = dtype === 'float32' ? { mantissa: 23, minExp: -126 } : FORMATS[dtype];
  const a = Math.abs(x);
  const exp = a > 0 ? Math.max(Math.floor(Math.log2(a)), f.minExp) : f.minExp;
  return 2 ** (exp - f.mantissa);
}
