/**
 * .npy files for the CLI: the reference's npy codec plus file handling, with every failure turned into one
 * UsageError line naming the tensor and the file ("Q file 'q.npy': dtype '<i4' is not supported …").
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FloatArray } from '@attn/reference';
import { NpyError, readNpy, writeNpy } from '@attn/reference';
import { UsageError } from './usage-error.js';

export interface NpyTensor {
  data: FloatArray;
  shape: number[];
}

export async function readTensorFile(label: string, path: string): Promise<NpyTensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${label} file '${path}' not found`);
    if (code === 'EISDIR') throw new UsageError(`${label} file '${path}' is a directory`);
    throw new UsageError(`${label} file '${path}' could not be read: ${(e as Error).message}`);
  }
  try {
    const { data, shape } = readNpy(bytes);
    return { data, shape: [...shape] };
  } catch (e) {
    if (e instanceof NpyError) throw new UsageError(`${label} file '${path}': ${e.message}`);
    throw e;
  }
}

/** Writes DIR/NAME.npy; returns the path written. */
export async function writeTensorFile(dir: string, name: string, data: FloatArray, shape: readonly number[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.npy`);
  await writeFile(path, writeNpy(data, shape));
  return path;
}

/** "[3,77,40]" */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
