/**
 * Every numeric flag of every command takes a negative value as '--flag -0.7' as well as '--flag=-0.7': run uses it
 * (--scale), the others refuse it with their own one-line reason, the same for both spellings. A value that starts
 * with '-' but is not a number keeps parseArgs' hint. (report has no numeric flag.)
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { inputFlags, runCli, tempDir, usageFailure } from './_helpers.js';

it('run --scale -0.7 runs with scale −0.7, exactly as --scale=-0.7', () => {
  const flags = inputFlags({ q: [2, 9, 4], k: [2, 11, 4], v: [2, 11, 4] });
  const out = flags[1]!;
  const spaced = runCli(['run', '--backend', 'reference', '--stage', 'lse', '--scale', '-0.7', ...flags]);
  expect(spaced.stderr).toBe('');
  expect(spaced.code).toBe(0);
  expect(spaced.stdout).toContain('scale=-0.700000');
  const first = readFileSync(`${out}/lse.npy`);
  const joined = runCli(['run', '--backend', 'reference', '--stage', 'lse', '--scale=-0.7', ...flags]);
  expect(joined.code).toBe(0);
  expect(readFileSync(`${out}/lse.npy`).equals(first)).toBe(true);
});

const sweep = (flag: string, value: string, joined: boolean): string[] => [
  'sweep', '--backends', 'reference', '--preset', 'cpu', '--no-report', '--out', tempDir('attn-sweep-'),
  ...(joined ? [`${flag}=${value}`] : [flag, value]),
];
const compare = (flag: string, value: string, joined: boolean): string[] => [
  'compare', 'base.json', 'new.json', ...(joined ? [`${flag}=${value}`] : [flag, value]),
];

it.each([
  { args: sweep, flag: '--seed', value: '-1', line: "attn: --seed must be an integer in [0, 2^32); got '-1'" },
  { args: sweep, flag: '--n', value: '-3', line: "attn: --n takes a comma-separated list of positive integers, got '-3'" },
  { args: sweep, flag: '--d', value: '-64', line: "attn: --d takes a comma-separated list of positive integers, got '-64'" },
  { args: sweep, flag: '--bh', value: '-1,2', line: "attn: --bh takes a comma-separated list of positive integers, got '-1,2'" },
  { args: sweep, flag: '--pairs', value: '-3x4', line: "attn: --pairs takes NQxNK pairs like 17x129,1024x4096; got '-3x4'" },
  { args: sweep, flag: '--time-budget', value: '-5', line: "attn: --time-budget must be a positive number, got '-5'" },
  { args: sweep, flag: '--min-samples', value: '-.5', line: "attn: --min-samples must be a positive number, got '-.5'" },
  { args: sweep, flag: '--sample-rows', value: '-8', line: "attn: --sample-rows must be a positive number, got '-8'" },
  { args: compare, flag: '--max-error-growth', value: '-2', line: "attn: --max-error-growth must be a positive number, got '-2'" },
  { args: compare, flag: '--error-floor', value: '-1e-6', line: "attn: --error-floor must be a non-negative number, got '-1e-6'" },
  { args: compare, flag: '--noise-factor', value: '-0.7', line: "attn: --noise-factor must be a non-negative number, got '-0.7'" },
  { args: compare, flag: '--min-change', value: '-Infinity', line: "attn: --min-change must be a non-negative number, got '-Infinity'" },
])('$flag $value: its own reason, either spelling', ({ args, flag, value, line }) => {
  expect(usageFailure(args(flag, value, false))).toBe(line);
  expect(usageFailure(args(flag, value, true))).toBe(line);
});

it('a value starting with - that is no number keeps the hint', () => {
  const flags = inputFlags({ q: [2, 9, 4], k: [2, 11, 4], v: [2, 11, 4] }).slice(2);
  expect(usageFailure(['run', '--backend', 'reference', '--stage', 'fwd', ...flags, '--out', '-x'])).toBe(
    "attn: Option '--out' argument is ambiguous; a value that starts with '-' is written --out=-XYZ (see --help)",
  );
  expect(usageFailure(['sweep', '--name', '-x'])).toBe(
    "attn: Option '--name' argument is ambiguous; a value that starts with '-' is written --name=-XYZ (see attn sweep --help)",
  );
});
