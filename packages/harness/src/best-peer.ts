/**
 * Which records are peers (torch SDPA, and whatever other library joins as a backend), and the peer our timings are
 * compared with: per dtype, stage and shape, the fastest one that passed its accuracy check.
 */
import type { PointRecord } from './results.js';

/** Backends that are someone else's attention, run for comparison. */
export const PEER_BACKENDS: readonly string[] = ['torch'];

export const isPeer = (r: PointRecord): boolean => PEER_BACKENDS.includes(r.backend) || r.backend.startsWith('torch-');

/** A peer record that ran but was never checked against the reference (files from before peers were checked). */
export const unchecked = (r: PointRecord): boolean => r.status === 'passed' && r.error === null;

const sameShape = (a: PointRecord, b: PointRecord): boolean =>
  a.bh === b.bh && a.nq === b.nq && a.nk === b.nk && a.d === b.d && a.causal === b.causal;

/**
 * The fastest peer record with `like`'s dtype, stage and shape whose status is passed (its outputs within tolerance
 * of the float64 reference; old unchecked peers count, and unchecked() tells them apart), or null when none ran.
 */
export function bestPeer(records: readonly PointRecord[], like: Pick<PointRecord, 'dtype' | 'stage' | 'bh' | 'nq' | 'nk' | 'd' | 'causal'>): PointRecord | null {
  let best: PointRecord | null = null;
  for (const r of records) {
    if (!isPeer(r) || r.status !== 'passed' || !r.timing || r.dtype !== like.dtype || r.stage !== like.stage) continue;
    if (!sameShape(r, like as PointRecord)) continue;
    if (!best || r.timing.medianMs < best.timing!.medianMs) best = r;
  }
  return best;
}
