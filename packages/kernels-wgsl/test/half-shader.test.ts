// The float16 form of a shader is generated from its float32 source (src/half-shader.ts): the storage of Q, K, V, dO,
// O, dQ, dK, dV becomes f16, every read of it is widened to f32 where it stands, every store narrowed; lse, D, the
// score matrices and every accumulation stay f32, and the float32 text is untouched. No adapter needed (the GPU
// tests compile and check every form).
import { describe, expect, it } from 'vitest';
import { HALF_TENSORS, halfStorage } from '../src/half-shader.js';
import { composeShader, withIncludes } from '../src/shader-source.js';
import { SHADER_FILES } from '../src/shaders.generated.js';

// the subgroup-matrix shaders are written in f16 (their storage declarations come from src/sgmat.ts), not converted
const STAGE_FILES = Object.keys(SHADER_FILES).filter((f) => f !== 'common.wgsl' && f !== 'tiles4.wgsl' && !f.includes('_sgmat'));
const access = (name: string): RegExp => new RegExp(`(?<![.\\w])${name}\\[`, 'g');

describe('halfStorage', () => {
  it('rewrites declarations, reads and stores as the examples say', () => {
    const code = [
      '@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;',
      '@group(0) @binding(5) var<storage, read_write> lse: array<f32>;',
      '@group(0) @binding(6) var<storage, read_write> o: array<f32>;',
      'fn main() { c.q[i] = q[(row * D + e) / 4u]; o[at] = acc[r][c] * s[j]; x = lse[o_at]; }',
    ].join('\n');
    expect(halfStorage(code)).toBe([
      '@group(0) @binding(1) var<storage, read> q: array<vec4<f16>>;',
      '@group(0) @binding(5) var<storage, read_write> lse: array<f32>;',
      '@group(0) @binding(6) var<storage, read_write> o: array<f16>;',
      'fn main() { c.q[i] = vec4<f32>(q[(row * D + e) / 4u]); o[at] = f16(acc[r][c] * s[j]); x = lse[o_at]; }',
    ].join('\n'));
  });

  it.each(STAGE_FILES)('%s: every access of a half tensor converted, nothing else changed', (file) => {
    const f32 = withIncludes(SHADER_FILES[file]!);
    const f16 = halfStorage(f32);
    const declared = HALF_TENSORS.filter((n) => new RegExp(`var<storage, read(_write)?> ${n}: array<`).test(f32));
    expect(declared.length, 'declares tensors').toBeGreaterThan(0);
    for (const name of declared) {
      expect(f16).toMatch(new RegExp(`var<storage, read(_write)?> ${name}: array<(f16|vec4<f16>)>;`));
      const uses = f32.match(access(name))?.length ?? 0;
      const converted = f16.match(new RegExp(`(f32|vec4<f32>)\\(${name}\\[|(?<![.\\w])${name}\\[[^\\n]*\\] = f16\\(`, 'g'))?.length ?? 0;
      expect(converted, name).toBe(uses);
    }
    // the rest is the float32 text: undoing the conversions gives it back
    const undone = f16
      .replace(/array<f16>/g, 'array<f32>')
      .replace(/array<vec4<f16>>/g, 'array<vec4<f32>>')
      .replace(new RegExp(`(?:vec4<f32>|f32)\\(((?:${HALF_TENSORS.join('|')})\\[[^\\n]*?\\])\\)`, 'g'), '$1');
    expect(undone.replace(/ = f16\(([^;\n]*)\);/g, ' = $1;')).toBe(f32);
  });

  it('composeShader: float16 puts `enable f16;` first and changes nothing in the float32 form', () => {
    const half = composeShader('forward_naive.wgsl', '', undefined, true);
    const full = composeShader('forward_naive.wgsl', '');
    expect(half.code.startsWith('enable f16;\n')).toBe(true);
    expect(half.prefixLines).toBe(full.prefixLines + 1);
    expect(full.code).not.toContain('f16');
    expect(full.code.endsWith(SHADER_FILES['forward_naive.wgsl']!)).toBe(true);
  });

  it('refuses what it would rewrite wrongly: a local of a tensor name, a vec4 store', () => {
    const decl = '@group(0) @binding(2) var<storage, read_write> k: array<vec4<f32>>;\n';
    expect(() => halfStorage(`${decl}fn f() { let k = 1.0; }`)).toThrow("float16 shader: 'k' is declared again as a local or parameter");
    expect(() => halfStorage(`${decl}fn f(a: u32, k: f32) {}`)).toThrow("'k' is declared again");
    expect(() => halfStorage(`${decl}fn f() { k[0] = v; }`)).toThrow("a vec4 store into 'k' is not rewritten");
  });
});
