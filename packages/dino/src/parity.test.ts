import { describeFixtureParity } from '@vitkit/test-support';
import { DinoModel } from './dino-model.js';

describeFixtureParity('DINO family', ['dinov2', 'dinov2_with_registers', 'vit'], (files, options) => new DinoModel(files, options));
