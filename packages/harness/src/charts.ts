/**
 * PNG line charts with chart.js 4 drawn on @napi-rs/canvas (prebuilt Skia, no system libraries).
 * The report describes a chart as plain data (ChartSpec); this module only draws it.
 */
import { createRequire } from 'node:module';
import type { ChartConfiguration, FontSpec, Plugin } from 'chart.js';
import { Chart, registerables } from 'chart.js';

Chart.register(...registerables);

/**
 * The family of every text a chart draws: DejaVu Sans from @fontsource/dejavu-sans, registered under a name no system
 * installs. Skia draws text only with fonts it can find, and a GPU machine or a container may have none.
 */
export const CHART_FONT = 'AttnChartSans';
let fontRegistered = false;

/** Registers CHART_FONT's regular and bold faces once; the GPU bundle finds them in node_modules beside attn.mjs. */
type Canvas = typeof import('@napi-rs/canvas');
let canvasModule: Canvas | undefined;

/** @napi-rs/canvas, loaded on the first chart: a run that draws none (--no-report, a slim device bundle) never needs it. */
async function loadCanvas(): Promise<Canvas> {
  canvasModule ??= await import('@napi-rs/canvas');
  return canvasModule;
}

function registerChartFont({ GlobalFonts }: Canvas): void {
  if (fontRegistered) return;
  const require = createRequire(import.meta.url);
  for (const weight of [400, 700]) {
    const file = `@fontsource/dejavu-sans/files/dejavu-sans-latin-${weight}-normal.woff2`;
    let path: string;
    try {
      path = require.resolve(file);
    } catch {
      throw new Error(`chart font ${file} not found: install @fontsource/dejavu-sans`);
    }
    if (!GlobalFonts.registerFromPath(path, CHART_FONT)) throw new Error(`chart font ${path} could not be loaded`);
  }
  fontRegistered = true;
}

function font(size: number, weight?: 'bold'): Partial<FontSpec> {
  return { family: CHART_FONT, size, ...(weight ? { weight } : {}) };
}

export interface Series {
  label: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
  /** index into the palette; series sharing a colour read as one family */
  colorIndex?: number;
}

export interface Marker {
  value: number;
  label: string;
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  series: Series[];
  /** horizontal reference lines (ceilings, speed-up 1×) */
  hLines?: Marker[];
  /** vertical markers (naive's out-of-memory point) */
  vLines?: Marker[];
  width?: number;
  height?: number;
}

// colour-blind-safe palette (Okabe–Ito), then a few more
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8C564B', '#7F7F7F', '#BCBD22'];

const DASH = [8, 5];
// three dashes fit the legend's 36 px line
const LEGEND_DASH = [7, 4];

const whiteBackground: Plugin = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function markerPlugin(h: Marker[], v: Marker[]): Plugin {
  return {
    id: 'markers',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea: area, scales } = chart;
      const x = scales.x!;
      const y = scales.y!;
      ctx.save();
      ctx.font = `13px ${CHART_FONT}`;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      for (const m of h) {
        const py = y.getPixelForValue(m.value);
        if (py < area.top || py > area.bottom) continue;
        ctx.strokeStyle = '#888888';
        ctx.beginPath();
        ctx.moveTo(area.left, py);
        ctx.lineTo(area.right, py);
        ctx.stroke();
        ctx.fillStyle = '#555555';
        ctx.textAlign = 'right';
        ctx.fillText(m.label, area.right - 4, py - 5);
      }
      for (const m of v) {
        const px = x.getPixelForValue(m.value);
        if (px < area.left || px > area.right) continue;
        ctx.strokeStyle = '#C00000';
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.fillStyle = '#C00000';
        const right = px > area.left + 0.6 * (area.right - area.left);
        ctx.textAlign = right ? 'right' : 'left';
        ctx.fillText(m.label, right ? px - 4 : px + 4, area.top + 16);
      }
      ctx.restore();
    },
  };
}

/** Tick values of a log axis: powers of two (x: N), else 1-2-5 per decade, 1…9 when that leaves fewer than 3. */
export function logTicks(min: number, max: number, powersOfTwo: boolean): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  const within = (xs: number[]): number[] => xs.filter((x) => x >= min * (1 - 1e-9) && x <= max * (1 + 1e-9));
  if (powersOfTwo) {
    const all: number[] = [];
    for (let e = Math.floor(Math.log2(min)); e <= Math.ceil(Math.log2(max)); e++) all.push(2 ** e);
    const xs = within(all);
    // at most ~12 labels: thin out every other power when the range is wide
    return xs.length > 12 ? xs.filter((_, i) => i % 2 === (xs.length - 1) % 2) : xs;
  }
  const decade = (mants: number[]): number[] => {
    const all: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) for (const m of mants) all.push(Number((m * 10 ** e).toPrecision(6)));
    return within(all);
  };
  const coarse = decade([1, 2, 5]);
  return coarse.length >= 3 ? coarse : decade([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

/** x rounded (down or up) to a value m × 10^k with m in 1…10. */
function roundLog(x: number, round: (m: number) => number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return Number((round(Number((x / p).toPrecision(12))) * p).toPrecision(6));
}

function axis(log: boolean | undefined, title: string, isX: boolean, markers: Marker[] = []) {
  const values = markers.map((m) => m.value).filter((v) => !log || v > 0);
  return {
    ...(values.length ? { suggestedMin: Math.min(...values) / (log ? 1.25 : 1), suggestedMax: Math.max(...values) * (log ? 1.25 : 1) } : {}),
    type: log ? ('logarithmic' as const) : ('linear' as const),
    title: { display: true, text: title, font: font(14) },
    ticks: { font: font(12), autoSkip: false, callback: (value: string | number) => (isX ? String(Number(value)) : formatTick(Number(value))) },
    grid: { color: '#e6e6e6' },
    ...(log
      ? {
          // a value axis ends on 1…9 × 10^k, so that even a narrow range (errors within one decade) gets 3 labels
          ...(isX
            ? {}
            : {
                bounds: 'data' as const, // chart.js's own ticks would move the ends (float rounding: 3.9e-8 for 4e-8)
                afterDataLimits(scale: { min: number; max: number }) {
                  if (scale.min > 0) [scale.min, scale.max] = [roundLog(scale.min, Math.floor), roundLog(scale.max, Math.ceil)];
                },
              }),
          afterBuildTicks(scale: { min: number; max: number; ticks: { value: number }[] }) {
            scale.ticks = logTicks(scale.min, scale.max, isX).map((value) => ({ value }));
          },
        }
      : {}),
  };
}

export function formatTick(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e9) return `${x / 1e9}G`;
  if (a >= 1e6) return `${x / 1e6}M`;
  if (a >= 1e4) return `${x / 1e3}k`;
  if (a < 1e-3) return x.toExponential(0);
  return String(Number(x.toPrecision(3)));
}

export async function renderChart(spec: ChartSpec): Promise<Buffer> {
  const width = spec.width ?? 1100;
  const height = spec.height ?? 650;
  const canvasLib = await loadCanvas();
  registerChartFont(canvasLib);
  const canvas = canvasLib.createCanvas(width, height);
  const config: ChartConfiguration<'line', { x: number; y: number }[]> = {
    type: 'line',
    data: {
      datasets: spec.series.map((s, i) => {
        const color = PALETTE[(s.colorIndex ?? i) % PALETTE.length]!;
        return {
          label: s.label,
          data: [...s.points].sort((a, b) => a.x - b.x),
          borderColor: color,
          backgroundColor: color,
          borderWidth: 2,
          borderDash: s.dashed ? DASH : [],
          pointRadius: 3.5,
          tension: 0,
          order: spec.series.length - i, // the last series on top (chart.js draws the highest order first)
        };
      }),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      parsing: false,
      normalized: true,
      layout: { padding: 12 },
      plugins: {
        title: { display: true, text: spec.title, font: font(18, 'bold') },
        subtitle: { display: Boolean(spec.subtitle), text: spec.subtitle ?? '', font: font(13), padding: { bottom: 8 } },
        legend: {
          position: 'right',
          // each series as a short line in its own style (solid or dashed), not a box
          labels: {
            font: font(12),
            usePointStyle: true,
            pointStyleWidth: 36,
            generateLabels: (chart) =>
              Chart.defaults.plugins.legend.labels
                .generateLabels(chart)
                .sort((a, b) => a.datasetIndex! - b.datasetIndex!)
                .map((item) => ({ ...item, pointStyle: 'line' as const, lineWidth: 2, lineDash: spec.series[item.datasetIndex!]?.dashed ? LEGEND_DASH : [] })),
          },
        },
      },
      scales: { x: axis(spec.xLog, spec.xLabel, true, spec.vLines), y: axis(spec.yLog, spec.yLabel, false, spec.hLines) },
    },
    plugins: [whiteBackground, markerPlugin(spec.hLines ?? [], spec.vLines ?? [])],
  };
  // chart.js takes any 2D context with the canvas API; @napi-rs/canvas provides one
  const ctx = canvas.getContext('2d');
  ctx.lang = 'en'; // the default follows the host's language, which can change glyphs
  const chart = new Chart(ctx as unknown as ConstructorParameters<typeof Chart>[0], config);
  const png = canvas.toBuffer('image/png');
  chart.destroy();
  return png;
}
