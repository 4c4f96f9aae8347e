/**
 * The backend registry: the one place that knows which packages provide backends (ours, and the torch peer).
 * Everything else in the harness sees only the Backend contract.
 */
import type { Backend } from '@attn/reference';

export const BACKEND_NAMES = ['reference', 'cuda', 'wgsl', 'torch'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const loaders: Record<BackendName, () => Promise<Backend>> = {
  reference: async () => (await import('@attn/reference')).createReferenceBackend(),
  cuda: async () => (await import('@attn/kernels-cuda')).createCudaBackend(),
  wgsl: async () => (await import('@attn/kernels-wgsl')).createWgslBackend(),
  // a peer: torch scaled_dot_product_attention through a python3 server (peers/torch-backend.ts)
  torch: async () => (await import('./peers/torch-backend.js')).createTorchBackend(),
};

const loaded = new Map<BackendName, Promise<Backend>>();

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** One instance per backend per process (a GPU backend owns its device). */
export function loadBackend(name: BackendName): Promise<Backend> {
  let backend = loaded.get(name);
  if (!backend) {
    backend = loaders[name]();
    loaded.set(name, backend);
  }
  return backend;
}

export async function closeBackends(): Promise<void> {
  const all = [...loaded.values()];
  loaded.clear();
  for (const backend of all) await (await backend).close();
}
