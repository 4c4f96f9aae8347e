/**
 * A GPU backend on a machine without its device (CI) is refused with one line naming the backend and why; on a
 * machine with the device the same run succeeds. Either way the CLI never crashes.
 */
import { expect, it } from 'vitest';
import { inputFlags, runCli } from './_helpers.js';

it.each(['cuda', 'wgsl'])('--backend %s exits 0, or 2 with one line saying why not', (backend) => {
  const r = runCli(['run', '--backend', backend, '--stage', 'fwd', ...inputFlags({ q: [2, 17, 5], k: [2, 19, 5], v: [2, 19, 5] })]);
  if (r.code === 0) {
    expect(r.stdout).toContain(`backend  ${backend} `);
  } else {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^attn: backend '${backend}' (is not available|could not be loaded): .+\\n$`));
  }
});
