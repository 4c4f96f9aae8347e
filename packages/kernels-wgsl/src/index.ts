export { createWgslBackend } from './backend.js';
export type { WgslBackendOptions } from './backend.js';
export { prepareVulkanEnvironment, findLavapipeIcd } from './environment.js';
export { pickTiles, TILED_MAX_D } from './tiling.js';
export type { TileConfig, TileLimits, TiledKernel } from './tiling.js';
export { pickTiles2 } from './tiling2.js';
export type { Tile2Config, Tile2Limits } from './tiling2.js';
export type { TiledVersion } from './plan.js';
