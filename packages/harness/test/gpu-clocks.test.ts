/** nvidia-smi readings around a timed sweep, and when they flag a run. */
import { expect, test } from 'vitest';
import { ClockSampler, clockFlags, readClocks, throttleNames } from '../src/gpu-clocks.js';
import type { GpuClocks } from '../src/results.js';

const line = (sm: number, reasons = '0x0000000000000000', power = '300.5') => `NVIDIA H200, ${sm}, 3201, ${power}, 41, ${reasons}, 1980, 3201\n`;

test('one reading: numbers parsed, N/A as null, throttle bits named; the GPU of CUDA_VISIBLE_DEVICES is asked', async () => {
  const calls: string[][] = [];
  const old = process.env.CUDA_VISIBLE_DEVICES;
  process.env.CUDA_VISIBLE_DEVICES = '3,1';
  try {
    const r = await readClocks(async (args) => (calls.push(args), line(1755, '0x0000000000000005', '[N/A]')));
    expect(r.gpu).toBe('NVIDIA H200');
    expect(r.reading).toMatchObject({ smMHz: 1755, memMHz: 3201, powerW: null, temperatureC: 41, throttleReasons: '0x0000000000000005', throttleNames: ['GpuIdle', 'SwPowerCap'] });
    expect([r.maxSmMHz, r.maxMemMHz]).toEqual([1980, 3201]);
    expect(calls[0]![0]).toBe('--id=3');
    expect(calls[0]![1]).toContain('clocks_throttle_reasons.active');
  } finally {
    if (old === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = old;
  }
  expect(throttleNames('0x48')).toEqual(['HwSlowdown', 'HwThermalSlowdown']);
});

test('a driver that renamed the throttle field is asked again with clocks_event_reasons', async () => {
  const asked: string[] = [];
  const r = await readClocks(async (args) => {
    asked.push(args[1]!);
    if (args[1]!.includes('throttle')) throw new Error('nvidia-smi failed: Field "clocks_throttle_reasons.active" is not a valid field to query.');
    return line(1980);
  });
  expect(asked[1]).toContain('clocks_event_reasons.active');
  expect(r.reading.smMHz).toBe(1980);
});

test('no nvidia-smi: the sweep records why, with no readings and no flag', async () => {
  const sampler = new ClockSampler(10, async () => {
    throw new Error('nvidia-smi not found');
  });
  await sampler.start();
  const c = await sampler.stop();
  expect(c).toEqual({ unavailable: 'nvidia-smi not found', start: null, end: null });
  expect(clockFlags(c)).toEqual([]);
});

test('the sampler keeps busy readings only, with the lowest and highest SM clock; a fall of over 10% is flagged', async () => {
  const script = [line(345, '0x1'), line(1980), line(1980), line(1650), line(1400, '0x1'), line(1980)];
  let i = 0;
  const sampler = new ClockSampler(5, async () => script[Math.min(i++, script.length - 1)]!);
  await sampler.start();
  while (i < script.length) await new Promise((r) => setTimeout(r, 5));
  const c = await sampler.stop();
  expect(c.start!.smMHz).toBe(345);
  expect(c.busy!.lowestSm!.smMHz).toBe(1650);
  expect(c.busy!.highestSm!.smMHz).toBe(1980);
  expect(c.busy!.samples).toBeGreaterThanOrEqual(3);
  expect(clockFlags(c)).toEqual(['SM clock fell to 1650 MHz while busy (highest busy reading 1980 MHz)']);
});

test('slowdown reasons are flagged by name wherever they were seen; idling and steady clocks are not', () => {
  const r = (sm: number, names: string[]) => ({ at: 't', smMHz: sm, memMHz: 3201, powerW: 500, temperatureC: 80, throttleReasons: '0x0', throttleNames: names });
  const steady: GpuClocks = { start: r(345, ['GpuIdle']), end: r(1980, []), busy: { intervalMs: 5000, samples: 2, first: r(1980, []), last: r(1970, []), lowestSm: r(1970, []), highestSm: r(1980, []) } };
  expect(clockFlags(steady)).toEqual([]);
  const hot: GpuClocks = { ...steady, end: r(1500, ['HwThermalSlowdown', 'SwPowerCap']) };
  expect(clockFlags(hot)).toEqual(['slowdown HwThermalSlowdown at end', 'slowdown SwPowerCap at end']);
  const fell: GpuClocks = { start: r(1980, []), end: r(1600, []) };
  expect(clockFlags(fell)).toEqual(['SM clock fell from 1980 MHz at start to 1600 MHz at end']);
});
