// src/shaders.generated.ts is in step with shaders/*.wgsl (run `pnpm build` or scripts/embed-shaders.mjs after edits).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { GENERATED, renderEmbedded } from '../scripts/embed-shaders.mjs';

it('the embedded shader text matches the .wgsl files', () => {
  expect(readFileSync(GENERATED as string, 'utf8')).toBe((renderEmbedded as () => string)());
});
