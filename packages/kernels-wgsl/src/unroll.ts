/**
 * Source-level unrolling of the loops a shader marks with the comment `/*@unroll*\/` (or `/*@unroll-gpu BOUND*\/`,
 * expanded only where `gpu` is set, BOUND copies, the loop's own bound being a runtime one for CPU adapters):
 *
 *   /*@unroll*\/ for (var r = 0u; r < RM; r++) { acc[r] = fma(a, b[r], acc[r]); }
 *
 * becomes one braced copy of the body per value of r, with r replaced by the literal (`0u`, `1u`, …), so every index
 * of a function-scope array is a constant expression the WGSL compiler folds. WGSL has no unroll attribute, and a
 * register array indexed by a loop counter the driver did not unroll lives in local memory (tiled kernel 3,
 * NOTES.md). Bounds may name the shader's u32 constants and use + - * / and parentheses. Unmarked loops, and marked
 * loops when unrolling is off, are left as they are (the marker is a comment, so the text stays valid WGSL).
 */

const MARKER = /\/\*@unroll(?:-gpu (\w+))?\*\//;
const HEADER = /^\s*for \(var (\w+) = ([\w]+); \1 < ([^;]+); \1\+\+\) \{/;

/** `const NAME: u32 = 12u;` lines of the generated prefix, as a name → value map. */
export function u32Constants(source: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of source.matchAll(/const (\w+): u32 = (\d+)u;/g)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** Value of a constant u32 expression: integers (optionally with a u suffix), named constants, + - * / ( ). */
export function evaluateBound(expression: string, constants: ReadonlyMap<string, number>): number {
  const tokens = expression.match(/\d+u?|\w+|[-+*/()]/g) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error(`@unroll: cannot read the bound '${expression}'`);
  let at = 0;
  const primary = (): number => {
    const tok = tokens[at++];
    if (tok === undefined) throw new Error(`@unroll: bound '${expression}' ends early`);
    if (tok === '(') {
      const value = sum();
      if (tokens[at++] !== ')') throw new Error(`@unroll: unbalanced parentheses in '${expression}'`);
      return value;
    }
    if (/^\d+u?$/.test(tok)) return Number(tok.replace('u', ''));
    const value = constants.get(tok);
    if (value === undefined) throw new Error(`@unroll: bound '${expression}' names '${tok}', which is not a u32 constant`);
    return value;
  };
  const product = (): number => {
    let value = primary();
    while (tokens[at] === '*' || tokens[at] === '/') {
      const op = tokens[at++];
      const rhs = primary();
      value = op === '*' ? value * rhs : Math.floor(value / rhs);
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (tokens[at] === '+' || tokens[at] === '-') {
      const op = tokens[at++];
      const rhs = product();
      value = op === '+' ? value + rhs : value - rhs;
    }
    return value;
  };
  const value = sum();
  if (at !== tokens.length) throw new Error(`@unroll: trailing tokens in bound '${expression}'`);
  return value;
}

/** Index just past the brace that closes the one opened at `open`. */
function closingBrace(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '{') depth++;
    else if (code[i] === '}' && --depth === 0) return i + 1;
  }
  throw new Error('@unroll: loop body has no closing brace');
}

const MAX_COPIES = 256;

/**
 * `code` with every marked loop expanded (innermost bounds may use the outer loops' now literal counters); loops
 * marked @unroll-gpu only when `gpu` is set (else they stay loops, their bodies still expanded).
 */
export function unrollMarkedLoops(code: string, constants: ReadonlyMap<string, number>, gpu = true): string {
  let out = '';
  let rest = code;
  for (let m = MARKER.exec(rest); m; m = MARKER.exec(rest)) {
    out += rest.slice(0, m.index);
    const after = rest.slice(m.index + m[0].length);
    const header = HEADER.exec(after);
    if (!header) throw new Error(`@unroll must precede 'for (var x = start; x < bound; x++) {', got '${after.slice(0, 60).split('\n')[0]}'`);
    const [text, name, start, loopBound] = header as unknown as [string, string, string, string];
    const gpuBound = m[1];
    if (gpuBound !== undefined && !gpu) {
      out += m[0] + text;
      rest = after.slice(text.length);
      continue;
    }
    const open = text.length - 1;
    const close = closingBrace(after, open);
    const body = after.slice(open + 1, close - 1);
    const from = evaluateBound(start, constants);
    const to = evaluateBound(gpuBound ?? loopBound, constants);
    if (to - from > MAX_COPIES) throw new Error(`@unroll: loop over ${name} would make ${to - from} copies (at most ${MAX_COPIES})`);
    const counter = new RegExp(`(?<![.\\w])${name}(?!\\w)`, 'g');
    for (let i = from; i < to; i++) out += `{${unrollMarkedLoops(body.replace(counter, `${i}u`), constants, gpu)}}`;
    rest = after.slice(close);
  }
  return out + rest;
}
