import type { Problem } from './problem.js';

/** One-line description of a problem for error messages and failure lines: "bh=1 nq=17 nk=17 d=5 dv=5 scale=0.4472 causal". */
export function describeProblem(p: Problem): string {
  const scale = Number(p.scale.toPrecision(4));
  return `bh=${p.bh} nq=${p.nq} nk=${p.nk} d=${p.d} dv=${p.dv} scale=${scale}${p.causal ? ' causal' : ''}${p.dtype !== 'float32' ? ` ${p.dtype}` : ''}`;
}
