/**
 * The CUDA variants: 'tiled@…' choices (the shared vocabulary) become the plain choice the native Session takes, read
 * against the real version table (kernels/tiled/versions.h); bad choices are one-line errors naming what exists.
 */
import { describe, expect, it } from 'vitest';
import { VariantError } from '@attn/reference';
import { parseCudaVariant } from '../src/index.js';
import { GXX_HERE, literal, stageToken, versionRanges, versionTableFromHeader } from './_helpers.js';

describe.skipIf(!GXX_HERE)('tiled@… against the version table (g++ compiles versions.h)', () => {
  const table = versionTableFromHeader();
  const choice = (variant: string) => parseCudaVariant(variant, table).choice;

  it('plain tiled runs the defaults: lse 3, forward 4, backward 3, automatic shape, short score chains', () => {
    expect(choice('tiled')).toEqual({ lse: 3, forward: 4, backward: 3, shape: -1, longScores: false });
    expect(parseCudaVariant('naive', table)).toEqual({ base: 'naive', choice: null });
  });

  it('names a version per stage, all stages at once, and knobs', () => {
    expect(choice('tiled@fwd3')).toEqual({ lse: 3, forward: 3, backward: 3, shape: -1, longScores: false });
    expect(choice('tiled@lse2+fwd1+bwd1')).toMatchObject({ lse: 2, forward: 1, backward: 1 });
    expect(choice('tiled@v1')).toMatchObject({ lse: 1, forward: 1, backward: 1 });
    expect(choice('tiled@v2')).toMatchObject({ lse: 2, forward: 2, backward: 2 });
    expect(choice('tiled@v3')).toMatchObject({ lse: 3, forward: 3, backward: 3 });
    expect(choice('tiled@v9')).toMatchObject({ lse: 3, forward: 4, backward: 3 });
    expect(choice('tiled@fwd4+shape=1')).toMatchObject({ forward: 4, shape: 1 });
    expect(choice('tiled@shape=0+scores=long')).toMatchObject({ shape: 0, longScores: true });
    expect(choice('tiled@bwd3+scores=short')).toMatchObject({ backward: 3, longScores: false });
  });

  it('refuses unknown versions, knobs and values, choices on naive, and knobs nothing reads, in one line', () => {
    const shapeReaders = table.versions.filter((v) => v.knobs.includes('shape')).map((v) => `${stageToken(v.stage)}${v.version}`);
    const refusals: [string, RegExp][] = [
      ['tiled@fwd9', new RegExp(`^${literal(`cuda: no kernel version 'fwd9' (${versionRanges(table)}, v<N>, shape=0|1, scores=short|long)`)}$`)],
      ['tiled@shape=2', /^cuda: shape takes 0 \| 1, got '2'$/],
      ['tiled@scores=medium', /^cuda: scores takes short \| long, got 'medium'$/],
      ['tiled@rows=4', /^cuda: unknown variant choice 'rows=4' \(/],
      ['naive@fwd1', /^cuda naive takes no kernel choice, got 'naive@fwd1'/],
      ['tiled@v1+shape=1', new RegExp(`^${literal(`cuda: shape=1 changes nothing in 'tiled@v1+shape=1': lse1, fwd1, bwd1 read no shape (${shapeReaders.join(', ')} do)`)}$`)],
      ['tiled@', /^cuda: 'tiled@' names no choice/],
    ];
    for (const [variant, message] of refusals) {
      expect(() => parseCudaVariant(variant, table), variant).toThrow(VariantError);
      expect(() => parseCudaVariant(variant, table), variant).toThrow(message);
      try {
        parseCudaVariant(variant, table);
      } catch (e) {
        expect((e as Error).message, variant).not.toContain('\n');
      }
    }
  });

  it('an addon without tiled kernels takes no choice', () => {
    expect(() => parseCudaVariant('tiled@fwd3', undefined)).toThrow(/no tiled kernel versions/);
  });
});
