// Comlink ships types for its ESM node adapter only beside the UMD build; this names the ESM file's.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  export { default } from 'comlink/dist/umd/node-adapter';
}
