export * from './problem.js';
export * from './backend.js';
export * from './rng.js';
export * from './sample.js';
export * from './rows.js';
export * from './full.js';
export * from './poison.js';
