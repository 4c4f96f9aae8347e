import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from '../report.js';
import { readResults, ResultsError } from '../results.js';
import { UsageError } from '../usage-error.js';

export const summary = 'render report.md and PNG charts from a results.json (works on any machine)';

export const help = `Usage: attn report RESULTS.json [--out DIR]

Reads a sweep's results.json (validated) and writes report.md with tables and PNG charts: tiled-vs-naive
speed-up vs N, TFLOP/s vs N with torch peer lines and the card's ceilings, error vs N, device memory vs N
(with naive's out-of-memory point). Needs nothing but the JSON, so a GPU run can be charted on a CPU machine.

Options:
  --out DIR   where to write (default: the folder of RESULTS.json)`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { out: { type: 'string' } } });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see attn report --help)`);
  }
  if (parsed.positionals.length !== 1) throw new UsageError(`report takes one results.json (got ${parsed.positionals.length})`);
  const path = parsed.positionals[0]!;
  let results;
  try {
    results = readResults(path);
  } catch (e) {
    if (e instanceof ResultsError) throw new UsageError(e.message);
    throw e;
  }
  const files = await writeReport(results, resolve(parsed.values.out ?? dirname(path)));
  console.log(`report: ${files.markdown} (+ ${files.charts.length} charts)`);
  return 0;
}
