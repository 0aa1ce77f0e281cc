import { describeFixtureParity } from '@vitkit/test-support';
import { Swin } from './swin-model.js';

describeFixtureParity('Swin', ['swin'], (files, options) => new Swin(files, options));
