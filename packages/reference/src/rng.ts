/**
 * Seeded random numbers, identical on every machine and in every language that follows this description:
 * - state: xoshiro128** (Blackman & Vigna), four uint32 words, seeded by running splitmix32 from the 32-bit seed;
 * - uniform(): the top 24 bits of the next output / 2^24, in [0, 1);
 * - normal(): Box–Muller on two uniforms u1 ∈ (0, 1], u2: sqrt(−2 ln u1)·cos(2π u2), one value per pair (no caching,
 *   so the stream position depends only on how many values were drawn).
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const splitmix32 = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
  }

  /** next raw 32-bit output of xoshiro128** */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  normal(): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh seed for a check that should draw new inputs each run (print it on failure). */
export function freshSeed(): number {
  return (Math.random() * 2 ** 32) >>> 0;
}
