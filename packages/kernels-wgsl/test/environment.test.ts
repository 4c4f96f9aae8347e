// The Vulkan driver choice: a user's env is kept; otherwise the project's lavapipe is used when there is no GPU node.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findLavapipeIcd, prepareVulkanEnvironment } from '../src/environment.js';

const gpuNode = existsSync('/dev/nvidiactl') || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));

describe('prepareVulkanEnvironment', () => {
  it('keeps VK_DRIVER_FILES or VK_ICD_FILENAMES the user set', () => {
    const env: NodeJS.ProcessEnv = { VK_DRIVER_FILES: '/x/nvidia_icd.json', XDG_RUNTIME_DIR: '/run/user/0' };
    expect(prepareVulkanEnvironment(env)).toEqual({ source: 'user', icd: '/x/nvidia_icd.json' });
    expect(env.VK_ICD_FILENAMES).toBeUndefined();
    expect(env.XDG_RUNTIME_DIR).toBe('/run/user/0');
  });

  it('creates a private XDG_RUNTIME_DIR when none is set', () => {
    const env: NodeJS.ProcessEnv = { VK_ICD_FILENAMES: '/y.json' };
    prepareVulkanEnvironment(env);
    expect(env.XDG_RUNTIME_DIR).toBeTruthy();
    expect(statSync(env.XDG_RUNTIME_DIR!).mode & 0o777).toBe(0o700);
  });

  it.skipIf(gpuNode || !findLavapipeIcd())('points the loader at the project lavapipe when nothing is set and no GPU node exists', () => {
    const env: NodeJS.ProcessEnv = {};
    const choice = prepareVulkanEnvironment(env);
    expect(choice.source).toBe('lavapipe');
    expect(env.VK_ICD_FILENAMES).toBe(findLavapipeIcd());
    expect(env.VK_ICD_FILENAMES).toMatch(/\.cache\/lavapipe\/icd\.json$/);
  });
});
