export * from './backends.js';
export * from './usage-error.js';
