/**
 * float16 on the host: float32 values → float16 bits for a device buffer (round to nearest, ties to even, as
 * @attn/reference's roundTo), and float16 bits → float32 (exact). Node 20 has no Float16Array. Both work on bits, so a
 * NaN keeps its payload: the float16 poison (POISON_F16_BITS) reads back as the pattern countPoisoned recognises.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float16 bits of the float32 value with these bits: RNE, ±Infinity past 65504 (by half an ulp), NaN kept quiet. */
export function halfBitsOf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : 0x200 | (mant >>> 13));
  const e = exp - 112; // the float16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // a float16 subnormal (or zero): m · 2⁻²⁴ with m = (1.mant) · 2^(e − 1) · 2¹⁰
    const shift = 14 - e;
    if (shift > 24) return sign;
    const full = mant | 0x800000;
    const m = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rest > half || (rest === half && (m & 1) === 1) ? m + 1 : m);
  }
  const h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // a carry out of the mantissa steps the exponent up, to Infinity past the largest finite value
  return rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h;
}

/** float16 bits of each value of `a` (read as float32: a Float64Array is rounded to float32 first). */
export function toHalfBits(a: Float32Array | Float64Array): Uint16Array {
  const out = new Uint16Array(a.length);
  if (a instanceof Float32Array) {
    const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < a.length; i++) out[i] = halfBitsOf(bits[i]!);
  } else {
    for (let i = 0; i < a.length; i++) {
      f32[0] = a[i]!;
      out[i] = halfBitsOf(u32[0]!);
    }
  }
  return out;
}

/** float32 bits of the float16 value with these bits (exact; a NaN's payload moves up 13 bits). */
export function floatBitsOfHalf(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: normalise
  const lead = 31 - Math.clz32(mant); // position of the leading 1, 0..9
  return (sign | ((lead + 103) << 23) | ((mant << (23 - lead)) & 0x7fffff)) >>> 0;
}

let widening: Uint32Array | undefined;

/** The float32 values of float16 bits (exact), through a 64 Ki-entry table built on first use. */
export function fromHalfBits(h: Uint16Array): Float32Array {
  if (!widening) {
    widening = new Uint32Array(0x10000);
    for (let i = 0; i < 0x10000; i++) widening[i] = floatBitsOfHalf(i);
  }
  const out = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = widening[h[i]!]!;
  return new Float32Array(out.buffer);
}
