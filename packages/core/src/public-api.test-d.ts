// Type test of @vitkit/core's public entry: what users and family packages compile against.
// Run by vitest's typecheck (tooling/vitest.shared.ts); a change here is a change to the public API.
import {
  DEVICES,
  type Device,
  type DownloadedCheckpoint,
  downloadPretrained,
  isVitkitError,
  loadImage,
  loadPretrained,
  type ModelFamily,
  ModelSession,
  type PretrainedFiles,
  type PretrainedOptions,
  type RawConfig,
  type RgbImage,
  readSafetensors,
  type SafetensorsFile,
  type Tensor,
  type VisionModel,
  type VitkitError,
  type VitkitErrorCode,
} from '@vitkit/core';
import { describe, expectTypeOf, it } from 'vitest';

describe('@vitkit/core public API', () => {
  it('loadPretrained / downloadPretrained: one signature on every platform', () => {
    expectTypeOf(loadPretrained).parameters.toEqualTypeOf<[idOrPath: string, options?: PretrainedOptions]>();
    expectTypeOf(loadPretrained).returns.toEqualTypeOf<Promise<PretrainedFiles>>();
    expectTypeOf(downloadPretrained).parameters.toEqualTypeOf<[idOrPath: string, options?: PretrainedOptions]>();
    expectTypeOf(downloadPretrained).returns.toEqualTypeOf<Promise<DownloadedCheckpoint>>();
    expectTypeOf<keyof PretrainedOptions>().toEqualTypeOf<
      | 'revision'
      | 'cacheDir'
      | 'localFilesOnly'
      | 'token'
      | 'onProgress'
      | 'endpoint'
      | 'etagTimeoutMs'
      | 'downloadTimeoutMs'
      | 'browserCache'
    >();
    expectTypeOf<PretrainedOptions['browserCache']>().toEqualTypeOf<string | false | undefined>();
    expectTypeOf<PretrainedFiles['config']>().toEqualTypeOf<RawConfig>();
    expectTypeOf<PretrainedFiles['preprocessorConfig']>().toEqualTypeOf<RawConfig | undefined>();
    expectTypeOf<PretrainedFiles['dir']>().toBeString();
    expectTypeOf<DownloadedCheckpoint['files']>().toEqualTypeOf<string[]>();
    // @ts-expect-error a checkpoint is named by a string
    loadPretrained(42);
  });

  it('tensors and safetensors', () => {
    expectTypeOf(readSafetensors).parameter(0).toEqualTypeOf<Uint8Array>();
    expectTypeOf(readSafetensors).returns.toEqualTypeOf<SafetensorsFile>();
    expectTypeOf<SafetensorsFile['tensors']>().toEqualTypeOf<Map<string, Tensor>>();
    expectTypeOf<Tensor['shape']>().toExtend<readonly number[]>();
  });

  it('errors carry a stable code', () => {
    expectTypeOf<VitkitError>().toExtend<Error>();
    expectTypeOf<VitkitError['code']>().toEqualTypeOf<VitkitErrorCode>();
    expectTypeOf<'HUB_NOT_FOUND'>().toExtend<VitkitErrorCode>();
    const e: unknown = new Error('x');
    if (isVitkitError(e)) expectTypeOf(e).toEqualTypeOf<VitkitError>();
  });

  it('devices, sessions, models, images', () => {
    expectTypeOf<Device>().toEqualTypeOf<'cpu' | 'wasm' | 'webgpu' | 'cuda'>();
    expectTypeOf(DEVICES).toEqualTypeOf<readonly Device[]>();
    expectTypeOf(ModelSession.create).returns.resolves.toEqualTypeOf<ModelSession>();
    expectTypeOf<ModelFamily['create']>().returns.toEqualTypeOf<VisionModel>();
    expectTypeOf(loadImage).returns.resolves.toEqualTypeOf<RgbImage>();
  });
});
