/**
 * Flag parsing for the attn commands: node:util parseArgs in strict mode, with every mistake turned into one
 * UsageError line that names the flag ("--stage must be one of lse, fwd, bwd; got 'fw'").
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

type StrictConfig<T extends FlagSpec> = { args: string[]; options: T; strict: true; allowPositionals: boolean };
export type ParsedFlags<T extends FlagSpec> = ReturnType<typeof parseArgs<StrictConfig<T>>>;

/**
 * The values of a strict parse of `argv` against `options`; no positionals unless `positionals` is true. A string
 * flag takes a negative number as its next argument ('--scale -0.7', like '--scale=-0.7'). `help` names where the
 * hint of a parse error points ('--help', 'attn sweep --help').
 */
export function parseFlags<T extends FlagSpec>(argv: string[], options: T, positionals = false, help = '--help'): ParsedFlags<T> {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: positionals });
  } catch (e) {
    throw new UsageError(parseErrorLine(e, help));
  }
}

/** "-0.7", "-3", "-.5", "-1e-3", "-3x4", "-1,2", "-Infinity": a value, not a flag (no flag starts with a digit). */
const NEGATIVE_VALUE = /^-(\.?\d|Infinity$)/;

/**
 * parseArgs refuses a value that starts with '-' given as a separate argument ("ambiguous"): glue a negative number
 * to its string flag ('--scale', '-0.7' → '--scale=-0.7'; '-s', '-1' → '-s-1'). Nothing after '--' is touched.
 */
function joinNegativeValues(argv: string[], options: FlagSpec): string[] {
  const takesValue = (arg: string): boolean => {
    if (arg.startsWith('--')) return options[arg.slice(2)]?.type === 'string';
    if (/^-[^-]$/.test(arg)) return Object.values(options).some((o) => o.short === arg[1] && o.type === 'string');
    return false;
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (next !== undefined && takesValue(arg) && NEGATIVE_VALUE.test(next)) {
      out.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * parseArgs' messages are long and sometimes multi-line: keep the first sentence, the hint about values that start
 * with a dash where there is one, and point at the help.
 */
function parseErrorLine(e: unknown, help: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const lines = message.split('\n');
  const first = lines[0]!.replace(/\. (To specify a positional argument|This command does not take positional arguments).*$/, '').replace(/\.$/, '');
  const dash = /use '(--?[^']*=-XYZ)'/.exec(message);
  return `${first}${dash ? `; a value that starts with '-' is written ${dash[1]}` : ''} (see ${help})`;
}

/** A flag that must be given. */
export function required<T>(flag: string, value: T | undefined): T {
  if (value === undefined) throw new UsageError(`missing --${flag} (see --help)`);
  return value;
}

/** A flag value restricted to a fixed set. */
export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
}

/** A finite number ("0.125", "1e-3"); rejects "", "abc", "Infinity". */
export function finiteNumber(flag: string, text: string): number {
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`--${flag} must be a finite number; got '${text}'`);
  return value;
}

/** A positive integer ("64"); rejects "0", "1.5", "-3". */
export function positiveInteger(flag: string, text: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${flag} must be a positive integer; got '${text}'`);
  }
  return value;
}

/** A comma-separated list of positive integers ("17,129,1024"). */
export function positiveIntegerList(flag: string, text: string): number[] {
  const parts = text.split(',');
  if (parts.some((p) => p.trim() === '')) throw new UsageError(`--${flag} must be a comma-separated list of positive integers; got '${text}'`);
  return parts.map((p) => positiveInteger(flag, p));
}
