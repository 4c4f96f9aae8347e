import { dirname, resolve } from 'node:path';
import { parseFlags } from '../args.js';
import { writeReport } from '../report.js';
import { mergeResults, readResults, ResultsError, writeResults } from '../results.js';
import { UsageError } from '../usage-error.js';

export const summary = 'render report.md and PNG charts from a results.json (works on any machine)';

export const help = `Usage: attn report RESULTS.json [MORE.json …] [--out DIR]

Reads a sweep's results.json (validated) and writes report.md with tables and PNG charts: tiled-vs-naive
speed-up vs N, TFLOP/s vs N with torch peer lines and the card's ceilings, error vs N, device memory vs N
(with naive's out-of-memory point). Needs nothing but the JSON, so a GPU run can be charted on a CPU machine.

Several results files of one machine (say a CUDA sweep and a WGSL sweep of the same run) are merged into one
results.json in --out first (a point measured twice keeps the later file's record).

Options:
  --out DIR   where to write (default: the folder of RESULTS.json; required when merging)`;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { out: { type: 'string' } }, true, 'attn report --help');
  const paths = parsed.positionals;
  if (paths.length === 0) throw new UsageError('report needs a results.json (see attn report --help)');
  if (paths.length > 1 && parsed.values.out === undefined) throw new UsageError('merging several results files needs --out DIR');
  let results;
  try {
    results = paths.length === 1 ? readResults(paths[0]!) : mergeResults(paths.map((p) => ({ source: p, results: readResults(p) })));
  } catch (e) {
    if (e instanceof ResultsError) throw new UsageError(e.message);
    throw e;
  }
  const out = resolve(parsed.values.out ?? dirname(paths[0]!));
  if (paths.length > 1) writeResults(resolve(out, 'results.json'), results);
  const files = await writeReport(results, out);
  console.log(`report: ${files.markdown} (+ ${files.charts.length} charts)`);
  return 0;
}
