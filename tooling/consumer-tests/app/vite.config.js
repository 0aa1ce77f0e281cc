import { defineConfig } from 'vite';

// Top-level await in the entry; no other settings: the point is that vitkit needs none.
export default defineConfig({ build: { target: 'es2022' } });
