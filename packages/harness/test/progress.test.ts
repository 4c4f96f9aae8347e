import { expect, test } from 'vitest';
import { formatDuration, Progress } from '../src/progress.js';

function stream(isTTY: boolean) {
  const out: string[] = [];
  return { out, s: { isTTY, columns: 80, write: (t: string) => out.push(t) } };
}

test('not a TTY: one plain line per finished step with counter and ETA', () => {
  const { out, s } = stream(false);
  let now = 0;
  const p = new Progress(4, s, () => now);
  p.start('cuda/tiled fwd N=1024');
  expect(out).toEqual([]);
  now = 2000;
  p.step('cuda/tiled fwd N=1024', 'passed 1.2 ms');
  expect(out).toEqual(['[1/4] cuda/tiled fwd N=1024: passed 1.2 ms (eta 6s)\n']);
});

test('a TTY: a bar redrawn in place, within the terminal width; failures also get their own line', () => {
  const { out, s } = stream(true);
  let now = 0;
  const p = new Progress(10, s, () => now);
  now = 1000;
  p.step('a', 'passed');
  expect(out.at(-1)).toBe('\r\x1b[2K[##..................] 1/10 10% eta 9s  a');
  p.step('b '.repeat(60), 'failed: o: 3 elements never written');
  expect(out).toContain('[2/10] ' + 'b '.repeat(60) + ': failed: o: 3 elements never written\n');
  expect(p.bar('x'.repeat(200)).length).toBeLessThanOrEqual(79);
});

test('durations read as s, m, h', () => {
  expect([formatDuration(4400), formatDuration(65_000), formatDuration(3_720_000), formatDuration(NaN)]).toEqual(['4s', '1m05s', '1h02m', '?']);
});
