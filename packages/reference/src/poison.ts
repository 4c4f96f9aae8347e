/**
 * Outputs are filled with a NaN of a recognisable bit pattern before each run, so an element a kernel never wrote is
 * told apart from a NaN a kernel computed (GPUs write the canonical NaN 0x7fc00000 / 0xffc00000).
 */
export const POISON_F32_BITS = 0x7fdead00;
/**
 * The poison of a half-precision output on the device (float16 0x7e5d, bfloat16 0x7fde: quiet NaNs), and the float32
 * pattern each becomes when a session reads it back widened exactly (the NaN's payload kept): what countPoisoned and
 * isPoisoned look for in a Float32Array besides POISON_F32_BITS.
 */
export const POISON_F16_BITS = 0x7e5d;
export const POISON_BF16_BITS = 0x7fde;
export const POISON_F16_WIDENED_BITS = 0x7fcba000;
export const POISON_BF16_WIDENED_BITS = 0x7fde0000;
const isPoisonF32 = (bits: number): boolean => bits === POISON_F32_BITS || bits === POISON_F16_WIDENED_BITS || bits === POISON_BF16_WIDENED_BITS;
/** high 32-bit word of the float64 poison (low word 0) */
export const POISON_F64_HIGH_BITS = 0x7ffdead0;

export function poisonArray(a: Float32Array | Float64Array): void {
  if (a instanceof Float32Array) {
    new Uint32Array(a.buffer, a.byteOffset, a.length).fill(POISON_F32_BITS);
  } else {
    const words = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
    const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    for (let i = 0; i < a.length; i++) {
      words[2 * i + (little ? 1 : 0)] = POISON_F64_HIGH_BITS;
      words[2 * i + (little ? 0 : 1)] = 0;
    }
  }
}

/** Number of elements still holding the poison pattern (a float16 output's counts once widened to float32). */
export function countPoisoned(a: Float32Array | Float64Array): number {
  let n = 0;
  if (a instanceof Float32Array) {
    const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < bits.length; i++) if (isPoisonF32(bits[i]!)) n++;
  } else {
    const view = new DataView(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < a.length; i++) {
      if (view.getUint32(8 * i + 4, true) === POISON_F64_HIGH_BITS && view.getUint32(8 * i, true) === 0) n++;
    }
  }
  return n;
}

/** Whether element i holds the poison pattern. */
export function isPoisoned(a: Float32Array | Float64Array, i: number): boolean {
  if (a instanceof Float32Array) return isPoisonF32(new Uint32Array(a.buffer, a.byteOffset + 4 * i, 1)[0]!);
  const view = new DataView(a.buffer, a.byteOffset + 8 * i, 8);
  return view.getUint32(4, true) === POISON_F64_HIGH_BITS && view.getUint32(0, true) === 0;
}
