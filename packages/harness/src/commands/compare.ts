import { parseFlags } from '../args.js';
import { compareResults, DEFAULT_COMPARE, formatComparison } from '../compare.js';
import { readResults, ResultsError } from '../results.js';
import { UsageError } from '../usage-error.js';
import { positiveNumber } from '../cli-options.js';

export const summary = 'compare two results.json point by point; exit 1 on a correctness or speed regression';

export const help = `Usage: attn compare BASE.json NEW.json [options]

Joins the two runs' records by point (backend, variant, pipeline, stage, shape, causal, dtype) and prints
SAME / FASTER / SLOWER / FAILED / NEW / MISSING per point, then a summary. Exit 1 on any regression
(FAILED, SLOWER, MISSING), 0 otherwise.

Correctness is always compared: a status that got worse (passed > skipped > failed), more non-finite or
unwritten elements, or max error grown beyond the allowed factor is FAILED.
Speed: SLOWER/FASTER only when the two runs' p10–p90 bands (widened by --noise-factor) do not overlap and
the medians differ by more than --min-change. Timings from different devices are not compared unless told.

Options:
  --max-error-growth F       allowed growth of max |error| per output (default ${DEFAULT_COMPARE.maxErrorGrowth})
  --error-floor X            absolute slack added to that bound (default ${DEFAULT_COMPARE.errorFloor})
  --noise-factor F           widen each run's p10–p90 band by F around its median (default ${DEFAULT_COMPARE.noiseFactor})
  --min-change F             minimum relative change of the median to call a point faster/slower (default ${DEFAULT_COMPARE.minChange})
  --allow-device-mismatch    compare timings even when the recorded devices differ
  --allow-missing            a base point absent from the new run is not a regression
  --brief                    list only the points that are not SAME`;

export async function main(argv: string[]): Promise<number> {
  const options = {
    'max-error-growth': { type: 'string' },
    'error-floor': { type: 'string' },
    'noise-factor': { type: 'string' },
    'min-change': { type: 'string' },
    'allow-device-mismatch': { type: 'boolean' },
    'allow-missing': { type: 'boolean' },
    brief: { type: 'boolean' },
  } as const;
  const parsed = parseFlags(argv, options, true, 'attn compare --help');
  const { values: v, positionals } = parsed;
  if (positionals.length !== 2) throw new UsageError(`compare takes two files, BASE.json NEW.json (got ${positionals.length})`);
  const [basePath, newPath] = positionals as [string, string];
  // flags first: a bad value is refused before any file is read
  const compareOptions = {
    maxErrorGrowth: positiveNumber('--max-error-growth', v['max-error-growth'], DEFAULT_COMPARE.maxErrorGrowth),
    errorFloor: positiveNumber('--error-floor', v['error-floor'], DEFAULT_COMPARE.errorFloor, true),
    noiseFactor: positiveNumber('--noise-factor', v['noise-factor'], DEFAULT_COMPARE.noiseFactor, true),
    minChange: positiveNumber('--min-change', v['min-change'], DEFAULT_COMPARE.minChange, true),
    allowDeviceMismatch: v['allow-device-mismatch'] ?? false,
    allowMissing: v['allow-missing'] ?? false,
  };
  let base, next;
  try {
    base = readResults(basePath);
    next = readResults(newPath);
  } catch (e) {
    if (e instanceof ResultsError) throw new UsageError(e.message);
    throw e;
  }
  const comparison = compareResults(base, next, compareOptions);
  console.log(`base: ${basePath} (${base.metadata.name}, ${base.metadata.createdAt})`);
  console.log(`new:  ${newPath} (${next.metadata.name}, ${next.metadata.createdAt})`);
  console.log(formatComparison(comparison, v.brief ?? false));
  return comparison.regressions > 0 ? 1 : 0;
}
