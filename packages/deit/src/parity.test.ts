import { describeFixtureParity } from '@vitkit/test-support';
import { Deit } from './deit-model.js';

describeFixtureParity('DeiT', ['deit'], (files, options) => new Deit(files, options));
