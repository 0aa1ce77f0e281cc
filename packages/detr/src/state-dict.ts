import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, VitkitError } from '@vitkit/core/internal';

/** Blocks per stage of the timm ResNets DETR checkpoints use (facebook/detr-resnet-50, -101). */
const TIMM_RESNETS: Record<string, { blocks: number[]; bottleneck: boolean }> = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false },
  resnet34: { blocks: [3, 4, 6, 3], bottleneck: false },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true },
  resnet101: { blocks: [3, 4, 23, 3], bottleneck: true },
  resnet152: { blocks: [3, 8, 36, 3], bottleneck: true },
};

/**
 * The state dict of a DETR config with a timm ResNet backbone (as facebook/detr-resnet-50 has):
 * frozen batch norms, 1x1 input projection, encoder, decoder, class and box heads.
 */
export function detrStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? 'DetrModel';
  const backbone = (raw.backbone as string | null) ?? '';
  const net = TIMM_RESNETS[backbone];
  if (!(raw.use_timm_backbone ?? true) || !net) {
    throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `DETR state dicts are declared for timm ResNet backbones only (got "${backbone}").`);
  }
  const s = new StateDictBuilder();
  const bb = 'model.backbone.conv_encoder.model.';
  s.conv(`${bb}conv1`, 64, c.int('num_channels', 3), 7);
  s.batchNorm(`${bb}bn1`, 64);
  let channels = 64;
  const expansion = net.bottleneck ? 4 : 1;
  for (let st = 0; st < 4; st++) {
    const width = 64 * 2 ** st;
    for (let i = 0; i < net.blocks[st]; i++) {
      const p = `${bb}layer${st + 1}.${i}.`;
      if (net.bottleneck) {
        s.conv(`${p}conv1`, width, channels, 1);
        s.batchNorm(`${p}bn1`, width);
        s.conv(`${p}conv2`, width, width, 3);
        s.batchNorm(`${p}bn2`, width);
        s.conv(`${p}conv3`, width * 4, width, 1);
        s.batchNorm(`${p}bn3`, width * 4);
      } else {
        s.conv(`${p}conv1`, width, channels, 3);
        s.batchNorm(`${p}bn1`, width);
        s.conv(`${p}conv2`, width, width, 3);
        s.batchNorm(`${p}bn2`, width);
      }
      if (i === 0 && (st > 0 || channels !== width * expansion)) {
        s.conv(`${p}downsample.0`, width * expansion, channels, 1);
        s.batchNorm(`${p}downsample.1`, width * expansion);
      }
      channels = width * expansion;
    }
  }
  const d = c.int('d_model');
  s.conv('model.input_projection', d, channels, 1, 1, true);
  s.tensor('model.query_position_embeddings.weight', [c.int('num_queries'), d], 'normal');
  const attention = (p: string) => {
    for (const n of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) s.linear(`${p}.${n}`, d, d);
  };
  for (let i = 0; i < c.int('encoder_layers'); i++) {
    const p = `model.encoder.layers.${i}.`;
    attention(`${p}self_attn`);
    s.layerNorm(`${p}self_attn_layer_norm`, d);
    s.linear(`${p}fc1`, c.int('encoder_ffn_dim'), d);
    s.linear(`${p}fc2`, d, c.int('encoder_ffn_dim'));
    s.layerNorm(`${p}final_layer_norm`, d);
  }
  for (let i = 0; i < c.int('decoder_layers'); i++) {
    const p = `model.decoder.layers.${i}.`;
    attention(`${p}self_attn`);
    s.layerNorm(`${p}self_attn_layer_norm`, d);
    attention(`${p}encoder_attn`);
    s.layerNorm(`${p}encoder_attn_layer_norm`, d);
    s.linear(`${p}fc1`, c.int('decoder_ffn_dim'), d);
    s.linear(`${p}fc2`, d, c.int('decoder_ffn_dim'));
    s.layerNorm(`${p}final_layer_norm`, d);
  }
  s.layerNorm('model.decoder.layernorm', d);
  if (arch === 'DetrForObjectDetection') {
    s.linear('class_labels_classifier', numLabels(raw) + 1, d);
    s.linear('bbox_predictor.layers.0', d, d);
    s.linear('bbox_predictor.layers.1', d, d);
    s.linear('bbox_predictor.layers.2', 4, d);
  }
  return s.spec;
}
