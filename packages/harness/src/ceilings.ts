/**
 * The rates a report divides by, per storage dtype: a record's TFLOP/s is a fraction of the compute ceilings of its
 * own dtype (float32: fp32 SIMT and TF32; float16 / bfloat16: the tensor cores' dense peak and the measured half
 * GEMM), its compulsory traffic a fraction of the copy bandwidth.
 */
import type { Results } from './results.js';

/** The dtypes a report groups by: float16, bfloat16, and float32 for everything else (the reference's float64 too). */
export type ReportDtype = 'float32' | 'float16' | 'bfloat16';

export const storageDtype = (dtype: string): ReportDtype => (dtype === 'float16' || dtype === 'bfloat16' ? dtype : 'float32');

/** One compute ceiling. */
export interface Ceiling {
  /** TF/s */
  tfs: number;
  /** what it is, as table headers and chart lines name it: 'fp32 SIMT', 'fp16 tensor-core peak', 'fp16 GEMM (measured)' */
  name: string;
  /** drawn on the TFLOP/s charts (float32 draws its first only: TF32's is an order of magnitude above) */
  charted: boolean;
}

export interface Ceilings {
  /** per dtype, the compute ceilings its records are divided by, in table-column order */
  compute: Partial<Record<ReportDtype, Ceiling[]>>;
  /** TB/s */
  bandwidth?: number;
  /** one line: the values and where they come from */
  source: string;
}

interface Datasheet {
  device: RegExp;
  card: string;
  /** float32 ceilings, TF/s (absent: the measured SGEMM / TF32 GEMM stand in) */
  fp32Simt?: number;
  tf32?: number;
  /** fp16 and bf16 tensor-core dense peak, TF/s */
  half: number;
  /** TB/s */
  bandwidth?: number;
}

/** Datasheet values of the SXM cards the project runs on (H100 and H200 SXM: 989 TF/s dense fp16/bf16). */
const DATASHEETS: readonly Datasheet[] = [
  { device: /H100(?!.*(PCIe|NVL))/i, card: 'H100 SXM', fp32Simt: 67, tf32: 495, half: 989, bandwidth: 3.0 },
  { device: /H200(?!.*NVL)/i, card: 'H200 SXM', half: 989 },
];

const tf = (x: number): string => `${Number(x.toPrecision(3))}`;

/**
 * The ceilings of `device` for the dtypes in `results`: a known card's datasheet values, else (or beside them) those
 * measured into the metadata (torch: a device copy, fp32 / tf32 / fp16 / bf16 8192³ matmuls). A library matmul is a
 * reachable rate, not the ceiling: on a known card it stands beside the datasheet's half peak and is quoted for
 * float32. Null when there is nothing to divide by.
 */
export function ceilingsOf(results: Results, device: string): Ceilings | null {
  const m = results.metadata.ceilings;
  const sheet = DATASHEETS.find((s) => s.device.test(device));
  const dtypes = new Set(results.records.map((r) => storageDtype(r.dtype)));
  const compute: Ceilings['compute'] = {};
  const parts: string[] = [];

  if (dtypes.has('float32')) {
    const f32: Ceiling[] = sheet?.fp32Simt
      ? [{ tfs: sheet.fp32Simt, name: 'fp32 SIMT', charted: true }, ...(sheet.tf32 ? [{ tfs: sheet.tf32, name: 'tf32', charted: false }] : [])]
      : [
          ...(m?.fp32MatmulTFs ? [{ tfs: m.fp32MatmulTFs, name: 'fp32 SGEMM (measured)', charted: true }] : []),
          ...(m?.tf32MatmulTFs ? [{ tfs: m.tf32MatmulTFs, name: 'tf32 GEMM (measured)', charted: false }] : []),
        ];
    if (f32.length) compute.float32 = f32;
    if (sheet?.fp32Simt) {
      const quoted = [m?.fp32MatmulTFs && `fp32 matmul ${m.fp32MatmulTFs.toFixed(1)} TF/s`, m?.tf32MatmulTFs && `tf32 matmul ${m.tf32MatmulTFs.toFixed(0)} TF/s`].filter(Boolean);
      parts.push(`float32: ${f32.map((c) => `${c.name} ${tf(c.tfs)} TF/s`).join(', ')} (${sheet.card} datasheet${quoted.length ? `; measured in this run: ${quoted.join(', ')}` : ''})`);
    } else if (f32.length) {
      parts.push(`float32: ${f32.map((c) => `${c.name} ${c.tfs.toFixed(1)} TF/s`).join(', ')}`);
    }
  }
  for (const dtype of ['float16', 'bfloat16'] as const) {
    if (!dtypes.has(dtype)) continue;
    const short = dtype === 'float16' ? 'fp16' : 'bf16';
    const measured = dtype === 'float16' ? m?.fp16MatmulTFs : m?.bf16MatmulTFs;
    const half: Ceiling[] = [
      ...(sheet ? [{ tfs: sheet.half, name: `${short} tensor-core peak`, charted: true }] : []),
      ...(measured ? [{ tfs: measured, name: `${short} GEMM (measured)`, charted: true }] : []),
    ];
    if (!half.length) continue;
    compute[dtype] = half;
    parts.push(`${dtype}: ${half.map((c) => `${c.name} ${c.tfs.toFixed(0)} TF/s`).join(', ')}${sheet ? ` (peak: ${sheet.card} datasheet, dense)` : ''}`);
  }

  const bandwidth = sheet?.bandwidth ?? (m?.copyGBs ? m.copyGBs / 1000 : undefined);
  if (bandwidth) parts.push(`copy ${bandwidth.toFixed(2)} TB/s${sheet?.bandwidth ? ` (${sheet.card})` : ' (measured)'}`);
  if (!parts.length) return null;
  const measuredAny = Boolean(m && (m.fp32MatmulTFs || m.tf32MatmulTFs || m.fp16MatmulTFs || m.bf16MatmulTFs || m.copyGBs));
  return { compute, ...(bandwidth ? { bandwidth } : {}), source: `${parts.join('; ')}${measuredAny && m?.source ? `; measured with ${m.source}` : ''}` };
}
