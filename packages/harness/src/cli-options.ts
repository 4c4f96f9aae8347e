/** Parsing of the numeric and list options the sweep, report and compare commands share. */
import { UsageError } from './usage-error.js';

export function positiveNumber(flag: string, raw: string | undefined, fallback: number, allowZero = false): number {
  if (raw === undefined) return fallback;
  const x = Number(raw);
  if (!Number.isFinite(x) || x < 0 || (!allowZero && x === 0)) {
    throw new UsageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${raw}'`);
  }
  return x;
}

export function integerList(flag: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const xs = parts.map(Number);
  const bad = parts.find((_, i) => !Number.isSafeInteger(xs[i]) || xs[i]! < 1);
  if (bad !== undefined || xs.length === 0) throw new UsageError(`${flag} takes a comma-separated list of positive integers, got '${raw}'`);
  return xs;
}

export function positiveList(flag: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const xs = parts.map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new UsageError(`${flag} takes a comma-separated list of positive numbers, got '${raw}'`);
  return xs;
}

/** A variant: a base of `bases`, optionally '@' and a choice the backend parses ('tiled@fwd3'). */
export function variantName(flag: string, raw: string, bases: readonly string[]): string {
  const at = raw.indexOf('@');
  const base = at < 0 ? raw : raw.slice(0, at);
  if (!bases.includes(base) || (at >= 0 && at === raw.length - 1)) {
    throw new UsageError(`${flag}: '${raw}' is not a variant (${bases.join(', ')}, or tiled@CHOICE such as tiled@fwd3; see --help)`);
  }
  return raw;
}

/** A comma-separated list of variants (variantName), without duplicates. */
export function variantList(flag: string, raw: string | undefined, bases: readonly string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError(`${flag} takes a comma-separated list of variants, got '${raw}'`);
  return [...new Set(parts.map((p) => variantName(flag, p, bases)))];
}

export function nameList<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = parts.find((p) => !(allowed as readonly string[]).includes(p));
  if (bad !== undefined || parts.length === 0) throw new UsageError(`${flag}: '${bad ?? raw}' is not one of ${allowed.join(', ')}`);
  return [...new Set(parts)] as T[];
}
