/** Shader text as compiled: generated constants, then common.wgsl, then the stage file (its float16 form: half-shader.ts). */
import { halfStorage } from './half-shader.js';
import type { MatrixTileConfig } from './sgmat.js';
import { emulateMatrices, flagMajorness, matrixDirectives, matrixMarkers } from './sgmat.js';
import { SHADER_FILES } from './shaders.generated.js';
import { u32Constants, unrollMarkedLoops } from './unroll.js';

export function shaderFile(name: string): string {
  const text = SHADER_FILES[name];
  if (text === undefined) throw new Error(`WGSL shader ${name} is not embedded (run scripts/embed-shaders.mjs)`);
  return text;
}

/** `text` with each line `// #include NAME.wgsl` replaced by that embedded file (one level: WGSL has no include). */
export function withIncludes(text: string): string {
  return text.replace(/^\/\/ #include (\S+\.wgsl)$/gm, (_, name: string) => `// ---- ${name}\n${shaderFile(name)}// ---- end of ${name}`);
}

/**
 * The source of `file` with `constants` (WGSL const declarations, may be empty) in front; with `unroll`, the stage
 * file's loops marked @unroll (and with `gpu`, @unroll-gpu) are expanded (src/unroll.ts; compile errors then point
 * into the expanded text); with `half`, Q, K, V, dO, O, dQ, dK, dV are stored as f16 (src/half-shader.ts).
 */
export interface UnrollChoice {
  /** expand the loops marked @unroll */
  unroll: boolean;
  /** and those marked @unroll-gpu */
  gpu: boolean;
}

export function composeShader(
  file: string,
  constants: string,
  choice: UnrollChoice = { unroll: false, gpu: false },
  half = false,
  matrix?: MatrixTileConfig,
): { code: string; prefixLines: number } {
  const emulated = matrix?.device.emulated === true;
  const what =
    (choice.unroll ? ` (loops unrolled: @unroll${choice.gpu ? ', @unroll-gpu' : ''})` : '') +
    (half ? ' (float16 storage)' : '') +
    (emulated ? ' (subgroup matrices emulated)' : matrix?.device.majorness === 'flag' ? ' (majorness as a bool argument)' : '');
  const enable = matrix ? matrixDirectives(matrix) : half ? 'enable f16;\n' : '';
  const prefix = `${enable}// ---- generated constants\n${constants}// ---- common.wgsl\n${shaderFile('common.wgsl')}\n// ---- ${file}${what}\n`;
  let text = withIncludes(shaderFile(file));
  if (matrix) text = matrixMarkers(text, matrix);
  const unrolled = choice.unroll ? unrollMarkedLoops(text, u32Constants(constants), choice.gpu) : text;
  let body = half ? halfStorage(unrolled) : unrolled;
  if (emulated) body = emulateMatrices(body);
  else if (matrix?.device.majorness === 'flag') body = flagMajorness(body);
  return { code: prefix + body, prefixLines: prefix.split('\n').length - 1 };
}
