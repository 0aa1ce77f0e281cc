import { describeFixtureParity } from '@vitkit/test-support';
import { Detr } from './detr-model.js';

describeFixtureParity('DETR', ['detr'], (files, options) => new Detr(files, options));
