// Source-level unrolling (src/unroll.ts): marked loops become braced copies with literal counters, bounds read the
// shader's constants, @unroll-gpu loops expand only on GPUs, and malformed markers are one clear error.
import { describe, expect, it } from 'vitest';
import { evaluateBound, u32Constants, unrollMarkedLoops } from '../src/unroll.js';

const constants = u32Constants('const RM: u32 = 4u;\nconst RN4: u32 = 2u;\nconst EC: u32 = 3u;');

describe('unrollMarkedLoops', () => {
  it('copies the body once per counter value, leaving other identifiers alone', () => {
    const code = '/*@unroll*/ for (var r = 0u; r < RN4; r++) { a[r] = row + v.r; }';
    expect(unrollMarkedLoops(code, constants)).toBe('{ a[0u] = row + v.r; }{ a[1u] = row + v.r; }');
  });

  it('expands nested loops whose bounds use constants and arithmetic', () => {
    const code = '/*@unroll*/ for (var r = 0u; r < RM / 2u; r++) { /*@unroll*/ for (var u = 0u; u < RN4 - 1u; u++) { x(r, u); } }';
    expect(unrollMarkedLoops(code, constants).replace(/\s+/g, '')).toBe('{{x(0u,0u);}}{{x(1u,0u);}}');
  });

  it('expands @unroll-gpu loops with the marker\'s bound only when asked, their inner loops either way', () => {
    const code = '/*@unroll-gpu EC*/ for (var e = 0u; e < steps(); e++) { /*@unroll*/ for (var u = 0u; u < 2u; u++) { y(e, u); } }';
    expect(unrollMarkedLoops(code, constants, true).replace(/\s+/g, '')).toBe('{{y(0u,0u);}{y(0u,1u);}}{{y(1u,0u);}{y(1u,1u);}}{{y(2u,0u);}{y(2u,1u);}}');
    expect(unrollMarkedLoops(code, constants, false).replace(/\s+/g, '')).toBe('/*@unroll-gpuEC*/for(vare=0u;e<steps();e++){{y(e,0u);}{y(e,1u);}}');
  });

  it('leaves unmarked code as it is', () => {
    const code = 'for (var i = 0u; i < RM; i++) { z(i); }';
    expect(unrollMarkedLoops(code, constants)).toBe(code);
  });

  it('names what it cannot read', () => {
    expect(() => unrollMarkedLoops('/*@unroll*/ while (true) {}', constants)).toThrow(/^@unroll must precede 'for/);
    expect(() => unrollMarkedLoops('/*@unroll*/ for (var i = 0u; i < NOPE; i++) {}', constants)).toThrow(/names 'NOPE', which is not a u32 constant/);
    expect(() => evaluateBound('RM +', constants)).toThrow(/ends early/);
    expect(() => unrollMarkedLoops('/*@unroll*/ for (var i = 0u; i < 1000u; i++) {}', constants)).toThrow(/1000 copies/);
  });
});
