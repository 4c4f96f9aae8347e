/** Shader text as compiled: generated constants, then common.wgsl, then the stage file. */
import { SHADER_FILES } from './shaders.generated.js';

export function shaderFile(name: string): string {
  const text = SHADER_FILES[name];
  if (text === undefined) throw new Error(`WGSL shader ${name} is not embedded (run scripts/embed-shaders.mjs)`);
  return text;
}

/** The source of `file` with `constants` (WGSL const declarations, may be empty) in front. */
export function composeShader(file: string, constants: string): { code: string; prefixLines: number } {
  const prefix = `// ---- generated constants\n${constants}// ---- common.wgsl\n${shaderFile('common.wgsl')}\n// ---- ${file}\n`;
  return { code: prefix + shaderFile(file), prefixLines: prefix.split('\n').length - 1 };
}
