// Type test of @vitkit/dino's public entry, as a user compiles against it.
import type { Device, ModelFamily, PretrainedFiles, Tensor, VisionModel } from '@vitkit/core';
import { describe, expectTypeOf, it } from 'vitest';
import { Dino, type DinoEmbeddings, type DinoLoadOptions, DinoModel, Dinov2, Dinov3, dinoFamily } from './index.js';

describe('@vitkit/dino public API', () => {
  it('fromPretrained keeps the class it is called on', () => {
    expectTypeOf(Dinov2.fromPretrained('facebook/dinov2-small')).toEqualTypeOf<Promise<Dinov2>>();
    expectTypeOf(Dino.fromPretrained('facebook/dino-vits16', { device: 'wasm' })).toEqualTypeOf<Promise<Dino>>();
    expectTypeOf(DinoModel.fromPretrained('/models/dinov2')).toEqualTypeOf<Promise<DinoModel>>();
    expectTypeOf(Dinov3.fromPretrained('facebook/dinov3-vits16-pretrain-lvd1689m')).toEqualTypeOf<Promise<Dinov3>>();
    expectTypeOf<DinoModel>().toExtend<VisionModel>();
    expectTypeOf<ConstructorParameters<typeof DinoModel>[0]>().toEqualTypeOf<PretrainedFiles>();
  });

  it('load options: the model options and the hub options', () => {
    expectTypeOf<{ device: Device; revision: string; browserCache: false; threads: number }>().toExtend<DinoLoadOptions>();
    // @ts-expect-error not a device
    Dinov2.fromPretrained('x', { device: 'tpu' });
  });

  it('outputs', () => {
    expectTypeOf<DinoModel['embed']>().returns.resolves.toEqualTypeOf<DinoEmbeddings>();
    expectTypeOf<DinoEmbeddings['cls']>().toExtend<Tensor>();
    expectTypeOf<DinoModel['run']>().returns.resolves.toEqualTypeOf<Record<string, Tensor>>();
    expectTypeOf(dinoFamily).toExtend<ModelFamily>();
  });
});
