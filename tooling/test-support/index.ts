// Shared by every package's tests as '@vitkit/test-support' (a vitest alias; never published).
export * from './devices.js';
export * from './edit-checkpoint.js';
export * from './encoder-weights.js';
export * from './errors.js';
export * from './fixtures.js';
export * from './fuzz.js';
export * from './parity.js';
export * from './parity-suite.js';
