/** Shader text as compiled: generated constants, then common.wgsl, then the stage file. */
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
 * file's loops marked @unroll are expanded (src/unroll.ts; compile errors then point into the expanded text).
 */
export function composeShader(file: string, constants: string, unroll = false): { code: string; prefixLines: number } {
  const prefix = `// ---- generated constants\n${constants}// ---- common.wgsl\n${shaderFile('common.wgsl')}\n// ---- ${file}${unroll ? ' (register loops unrolled)' : ''}\n`;
  const text = withIncludes(shaderFile(file));
  const body = unroll ? unrollMarkedLoops(text, u32Constants(constants)) : text;
  return { code: prefix + body, prefixLines: prefix.split('\n').length - 1 };
}
