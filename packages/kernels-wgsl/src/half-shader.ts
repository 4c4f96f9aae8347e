/**
 * The float16 form of a shader, generated from its float32 source: the storage buffers of Q, K, V, dO, O, dQ, dK, dV
 * become array<f16> (array<vec4<f16>> where the shader reads vec4), every read of one is widened to f32 where it
 * stands, every store narrowed from f32 (f16(…), round to nearest on the GPUs we run). Everything else — lse and its
 * (lse, a_ref, c) triple, D, the naive variant's score matrices, workgroup tiles, registers, every accumulation —
 * stays f32. The module needs `enable f16;` first (composeShader puts it before the generated constants).
 *
 *   var<storage, read> q: array<vec4<f32>>;   →  var<storage, read> q: array<vec4<f16>>;
 *   c.q[i] = q[(row * D + e) / 4u];            →  c.q[i] = vec4<f32>(q[(row * D + e) / 4u]);
 *   o[at] = acc[r][c];                         →  o[at] = f16(acc[r][c]);
 *
 * A shader that declares a local of one of these names, or stores a vec4 into one, is refused with an error: the
 * rewrite reads names, not types.
 */

/** The shader names of the tensors stored in the problem's dtype (dout is dO). */
export const HALF_TENSORS = ['q', 'k', 'v', 'dout', 'o', 'dq', 'dk', 'dv'] as const;

const DECLARATION = /(var<storage, (?:read|read_write)> (\w+): array<)(f32|vec4<f32>)>/g;

/** Index just past the bracket that closes the one at `open`. */
function closing(code: string, open: number, left: string, right: string): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === left) depth++;
    else if (code[i] === right && --depth === 0) return i + 1;
  }
  throw new Error(`float16 shader: unbalanced '${left}' at offset ${open}`);
}

/** End of the expression that starts at `from` and ends at the first ';' outside parentheses and brackets. */
function statementEnd(code: string, from: number): number {
  let depth = 0;
  for (let i = from; i < code.length; i++) {
    const ch = code[i];
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ';' && depth === 0) return i;
  }
  throw new Error(`float16 shader: no ';' after offset ${from}`);
}

/** `code` (a whole stage shader, includes expanded) with the half tensors' storage in f16. */
export function halfStorage(code: string): string {
  const widths = new Map<string, 'f32' | 'vec4<f32>'>();
  let out = code.replace(DECLARATION, (all, head: string, name: string, type: 'f32' | 'vec4<f32>') => {
    if (!(HALF_TENSORS as readonly string[]).includes(name)) return all;
    widths.set(name, type);
    return `${head}${type === 'f32' ? 'f16' : 'vec4<f16>'}>`;
  });
  const parameters = [...out.matchAll(/\bfn \w+\(/g)].flatMap((m) => {
    const open = m.index + m[0].length - 1;
    const list = out.slice(open + 1, closing(out, open, '(', ')') - 1).replace(/@\w+\([^)]*\)/g, '');
    return list.split(',').map((p) => p.split(':')[0]!.trim());
  });
  for (const [name, type] of widths) {
    if (parameters.includes(name) || new RegExp(`\\b(?:let|var|const)\\s+${name}\\b`).test(out)) {
      throw new Error(`float16 shader: '${name}' is declared again as a local or parameter`);
    }
    out = rewriteAccesses(out, name, type);
  }
  return out;
}

function rewriteAccesses(code: string, name: string, type: 'f32' | 'vec4<f32>'): string {
  // `name[` not preceded by '.' or a word character: the buffer, not a struct field such as c.q[i]
  const access = new RegExp(`(?<![.\\w])${name}\\[`, 'g');
  let out = '';
  let at = 0;
  for (let m = access.exec(code); m; m = access.exec(code)) {
    const end = closing(code, m.index + name.length, '[', ']');
    const target = code.slice(m.index, end);
    const store = /^\s*=(?!=)/.exec(code.slice(end));
    if (store) {
      if (type !== 'f32') throw new Error(`float16 shader: a vec4 store into '${name}' is not rewritten`);
      const from = end + store[0].length;
      const stop = statementEnd(code, from);
      out += `${code.slice(at, m.index)}${target} = f16(${code.slice(from, stop).trim()})`;
      at = stop;
    } else {
      out += `${code.slice(at, m.index)}${type}(${target})`;
      at = end;
    }
    access.lastIndex = at;
  }
  return out + code.slice(at);
}
