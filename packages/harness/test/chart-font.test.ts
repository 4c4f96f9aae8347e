/**
 * A chart draws its text with its own font, also where no system font exists (a GPU machine, a bare container).
 * The chart is rendered by the built harness in a child process whose system font folders are hidden behind empty
 * tmpfs mounts in a mount namespace of its own (unshare; root, or a user namespace elsewhere).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { expect, test } from 'vitest';
import { tempDir } from './_helpers.js';

const CHARTS = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/charts.js');
const CANVAS = createRequire(import.meta.url).resolve('@napi-rs/canvas');
const WIDTH = 1100;
const HEIGHT = 650;

// Renders two charts that differ only in their title and legend labels, and, first, text in the generic family with
// no font registered: that must draw nothing, or the system fonts were not hidden.
const child = `
import { writeFileSync } from 'node:fs';
import { createCanvas } from ${JSON.stringify(pathToFileURL(CANVAS).href)};
import { renderChart } from ${JSON.stringify(pathToFileURL(CHARTS).href)};
const probe = createCanvas(300, 40).getContext('2d');
probe.font = '24px sans-serif';
probe.fillText('system font?', 4, 30);
const systemTextPixels = probe.getImageData(0, 0, 300, 40).data.filter((v, i) => i % 4 === 3 && v > 0).length;
writeFileSync('probe.json', JSON.stringify({ systemTextPixels }));
const points = (k) => [1, 2, 4, 8].map((x) => ({ x: 1024 * x, y: k * x }));
for (const [name, title, labels] of [['a', 'Alpha chart', ['tiled d=64', 'naive d=64 causal']], ['b', 'Omega figure', ['wgsl/tiled', 'cuda/naive causal']]]) {
  const series = [{ label: labels[0], points: points(1), colorIndex: 0 }, { label: labels[1], points: points(2), dashed: true, colorIndex: 1 }];
  writeFileSync(name + '.png', await renderChart({ title, subtitle: 'same subtitle', xLabel: 'N', yLabel: 'ms', xLog: true, series, width: ${WIDTH}, height: ${HEIGHT} }));
}
`;

// Hides the font folders @napi-rs/canvas scans on Linux: /usr/share/fonts (Skia's), /usr/local/share/fonts and
// ~/.fonts (index.js; HOME and the working directory are the empty temp folder).
const hideFonts = 'for d in /usr/share/fonts /usr/local/share/fonts; do if [ -d "$d" ]; then mount -t tmpfs none "$d" || exit 97; fi; done; exec "$0" "$@"';

function renderWithoutSystemFonts(): string {
  if (!existsSync(CHARTS)) throw new Error(`${CHARTS} is missing: build the harness first (pnpm build)`);
  const dir = tempDir('attn-chart-font-');
  writeFileSync(join(dir, 'child.mjs'), child);
  const userns = process.getuid?.() === 0 ? [] : ['--map-root-user'];
  const r = spawnSync('unshare', [...userns, '--mount', '--propagation', 'private', 'sh', '-c', hideFonts, process.execPath, join(dir, 'child.mjs')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw new Error(`could not hide the system fonts (unshare): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`could not render with the system fonts hidden (unshare --mount, exit ${r.status}): ${r.stderr.trim()}`);
  return dir;
}

/** RGBA pixels of a PNG. */
async function pixels(path: string): Promise<Uint8ClampedArray> {
  const image = await loadImage(readFileSync(path));
  const ctx = createCanvas(image.width, image.height).getContext('2d');
  ctx.drawImage(image, 0, 0);
  return ctx.getImageData(0, 0, image.width, image.height).data;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Grey pixels darker than the grid: text (chart.js draws it in #666) and the axes' titles; series colours are not grey. */
function textPixels(rgba: Uint8ClampedArray, box: Box): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const i = 4 * (y * WIDTH + x);
      const [r, g, b] = [rgba[i]!, rgba[i + 1]!, rgba[i + 2]!];
      if (r < 180 && Math.abs(r - g) < 12 && Math.abs(g - b) < 12) n++;
    }
  }
  return n;
}

function differing(a: Uint8ClampedArray, b: Uint8ClampedArray, box: Box): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) if (a[4 * (y * WIDTH + x)] !== b[4 * (y * WIDTH + x)]) n++;
  return n;
}

test('a chart draws its title, legend and axis text where no system font can be found', async () => {
  const dir = renderWithoutSystemFonts();
  // the control: with the system fonts hidden, the generic family draws nothing
  expect(JSON.parse(readFileSync(join(dir, 'probe.json'), 'utf8')), 'sans-serif drew text: the system fonts were not hidden').toEqual({ systemTextPixels: 0 });

  const a = await pixels(join(dir, 'a.png'));
  const b = await pixels(join(dir, 'b.png'));
  const title: Box = { x0: 0, y0: 0, x1: WIDTH, y1: 40 };
  const legend: Box = { x0: Math.round(WIDTH * 0.9), y0: 60, x1: WIDTH, y1: HEIGHT - 60 };
  const xAxis: Box = { x0: 0, y0: HEIGHT - 60, x1: WIDTH, y1: HEIGHT };
  const yAxis: Box = { x0: 0, y0: 60, x1: 70, y1: HEIGHT - 60 };
  for (const [name, box] of Object.entries({ title, legend, xAxis, yAxis })) {
    expect(textPixels(a, box), `text pixels in the ${name} area`).toBeGreaterThan(100);
  }
  expect(differing(a, b, title), 'pixels that differ between two titles').toBeGreaterThan(100);
  expect(differing(a, b, legend), 'pixels that differ between two sets of legend labels').toBeGreaterThan(100);
});
