/**
 * The variant vocabulary of every kernel backend, for --help: each backend's version table and knobs
 * (@attn/reference variant.ts), read from the backends themselves so the help never lists a version that is not there.
 */
import { describeVersions } from '@attn/reference';
import { loadBackend } from './backends.js';

export async function variantsHelp(): Promise<string> {
  const lines = ['', '', "Kernel versions: a variant is 'naive', 'tiled' (the defaults) or 'tiled@CHOICE', CHOICE joining with '+'",
    "a version per stage (lse3, fwd4, bwd1), every stage's newest up to N (v2), and knobs (shape=1), e.g. tiled@fwd3,",
    'tiled@lse2+fwd1+bwd1, tiled@v1. What each stage ran, fallbacks included, is recorded with every result.'];
  for (const name of ['cuda', 'wgsl'] as const) {
    try {
      const backend = await loadBackend(name);
      if (backend.kernelVersions?.length) lines.push('', ...describeVersions(name, backend.kernelVersions, backend.knobs ?? []));
      else lines.push('', `${name}: no version table in this build`);
    } catch (e) {
      lines.push('', `${name}: not loadable here (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
    }
  }
  return lines.join('\n');
}
