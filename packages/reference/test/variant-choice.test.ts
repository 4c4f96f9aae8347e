/** The shared variant vocabulary: tiled@fwd3, tiled@lse2+fwd1+bwd1, tiled@v1, knobs; one-line errors naming what exists. */
import { expect, test } from 'vitest';
import type { KernelVersion, VariantKnob } from '../src/index.js';
import { describeVersions, parseChoice, requestedVersion, splitVariant, VariantError } from '../src/index.js';

const VERSIONS: KernelVersion[] = [
  { stage: 'lse', version: 1, technique: 'SIMT' },
  { stage: 'lse', version: 3, technique: 'tensor cores', isDefault: true },
  { stage: 'forward', version: 1, technique: 'SIMT' },
  { stage: 'forward', version: 2, technique: 'tensor cores' },
  { stage: 'forward', version: 4, technique: 'fragments', isDefault: true },
  { stage: 'backward', version: 1, technique: 'SIMT', isDefault: true },
];
const KNOBS: VariantKnob[] = [{ name: 'shape', values: ['0', '1'], description: 'tile shape' }, { name: 'threads', values: [], description: 'cap' }];

test('a choice names versions per stage, all stages, and knobs', () => {
  expect(splitVariant('tiled@fwd2+shape=1')).toEqual({ base: 'tiled', choice: 'fwd2+shape=1' });
  const c = parseChoice('cuda', 'fwd2+shape=1+threads=128', VERSIONS, KNOBS);
  expect(c).toEqual({ stages: { forward: 2 }, knobs: { shape: '1', threads: '128' } });
  expect(requestedVersion('forward', c, VERSIONS)).toBe(2);
  expect(requestedVersion('lse', c, VERSIONS)).toBe(3);
  const all = parseChoice('cuda', 'v3', VERSIONS, KNOBS);
  expect([requestedVersion('lse', all, VERSIONS), requestedVersion('forward', all, VERSIONS), requestedVersion('backward', all, VERSIONS)]).toEqual([3, 2, 1]);
  expect(parseChoice('cuda', null, VERSIONS, KNOBS)).toEqual({ stages: {}, knobs: {} });
});

test('unknown versions, knobs and values are one-line errors naming the vocabulary', () => {
  expect(() => parseChoice('cuda', 'fwd9', VERSIONS, KNOBS)).toThrow(VariantError);
  expect(() => parseChoice('cuda', 'fwd9', VERSIONS, KNOBS)).toThrow(/^cuda: no kernel version 'fwd9' \(lse1…lse3, fwd1…fwd4, bwd1…bwd1, v<N>, shape=0\|1, threads=N\)$/);
  expect(() => parseChoice('cuda', 'shape=2', VERSIONS, KNOBS)).toThrow(/^cuda: shape takes 0 \| 1, got '2'$/);
  expect(() => parseChoice('cuda', 'rows=4', VERSIONS, KNOBS)).toThrow(/unknown variant choice 'rows=4'/);
  expect(() => parseChoice('cuda', 'threads=0', VERSIONS, KNOBS)).toThrow(/threads takes a positive integer/);
});

test('the help lists every row with the defaults marked, then the knobs', () => {
  const lines = describeVersions('cuda', VERSIONS, KNOBS);
  expect(lines).toContain('  lse3   (default) tensor cores');
  expect(lines).toContain('  fwd2   tensor cores');
  expect(lines.at(-1)).toMatch(/^  threads=N cap$/);
});
