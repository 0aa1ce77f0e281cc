import { ConfigReader, numLabels, type RawConfig, StateDictBuilder, type StateDictSpec, VitkitError } from '@vitkit/core/internal';
import { usesTimmBackbone } from './model/backbone-spec.js';

/** Blocks per stage of the timm ResNets DETR checkpoints use (facebook/detr-resnet-50, -101). */
const TIMM_RESNETS: Record<string, { blocks: number[]; bottleneck: boolean }> = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false },
  resnet34: { blocks: [3, 4, 6, 3], bottleneck: false },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true },
  resnet101: { blocks: [3, 4, 23, 3], bottleneck: true },
  resnet152: { blocks: [3, 8, 36, 3], bottleneck: true },
};

/**
 * The state dict of a DETR config: the backbone (a timm ResNet, as facebook/detr-resnet-50 has, with
 * its `backbone_kwargs`; or an HF `ResNetBackbone` from `backbone_config`), the 1x1 input
 * projection, encoder, decoder, class and box heads; for DetrForSegmentation all of it under
 * `detr.`, plus the bbox attention and the mask head (original checkpoint key names).
 */
export function detrStateDict(raw: RawConfig): StateDictSpec {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? 'DetrModel';
  const segmentation = arch === 'DetrForSegmentation';
  const root = segmentation ? 'detr.' : '';
  const model = `${root}model.`;
  const s = new StateDictBuilder();
  const backbone = `${model}backbone.conv_encoder.model.`;
  const stages = usesTimmBackbone(raw) ? timmResnet(c, raw, s, backbone) : hfResnet(raw, s, backbone);
  const d = c.int('d_model');
  s.conv(`${model}input_projection`, d, stages[stages.length - 1], 1, 1, true);
  s.tensor(`${model}query_position_embeddings.weight`, [c.int('num_queries'), d], 'normal');
  const attention = (p: string) => {
    for (const n of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) s.linear(`${p}.${n}`, d, d);
  };
  for (let i = 0; i < c.int('encoder_layers'); i++) {
    const p = `${model}encoder.layers.${i}.`;
    attention(`${p}self_attn`);
    s.layerNorm(`${p}self_attn_layer_norm`, d);
    s.linear(`${p}fc1`, c.int('encoder_ffn_dim'), d);
    s.linear(`${p}fc2`, d, c.int('encoder_ffn_dim'));
    s.layerNorm(`${p}final_layer_norm`, d);
  }
  for (let i = 0; i < c.int('decoder_layers'); i++) {
    const p = `${model}decoder.layers.${i}.`;
    attention(`${p}self_attn`);
    s.layerNorm(`${p}self_attn_layer_norm`, d);
    attention(`${p}encoder_attn`);
    s.layerNorm(`${p}encoder_attn_layer_norm`, d);
    s.linear(`${p}fc1`, c.int('decoder_ffn_dim'), d);
    s.linear(`${p}fc2`, d, c.int('decoder_ffn_dim'));
    s.layerNorm(`${p}final_layer_norm`, d);
  }
  s.layerNorm(`${model}decoder.layernorm`, d);
  if (arch === 'DetrForObjectDetection' || segmentation) {
    s.linear(`${root}class_labels_classifier`, numLabels(raw) + 1, d);
    s.linear(`${root}bbox_predictor.layers.0`, d, d);
    s.linear(`${root}bbox_predictor.layers.1`, d, d);
    s.linear(`${root}bbox_predictor.layers.2`, 4, d);
  }
  if (segmentation) maskHead(s, d, c.int('encoder_attention_heads'), stages);
  return s.spec;
}

/** `bbox_attention` (`DetrMHAttentionMap`) and `mask_head` (`DetrMaskHeadSmallConv`) as the original checkpoints name them. */
function maskHead(s: StateDictBuilder, d: number, heads: number, stages: readonly number[]): void {
  if (stages.length < 4) throw new VitkitError('MODEL_TYPE_UNSUPPORTED', 'DetrForSegmentation needs a backbone with four stages.');
  s.linear('bbox_attention.q_linear', d, d);
  s.linear('bbox_attention.k_linear', d, d);
  const widths = [d + heads, d / 2, d / 4, d / 8, d / 16];
  widths.forEach((width, i) => {
    s.conv(`mask_head.lay${i + 1}`, width, i === 0 ? d + heads : widths[i - 1], 3, 3, true);
    s.layerNorm(`mask_head.gn${i + 1}`, width);
  });
  // adapter1..3 read stages 3, 2, 1 into the widths of lay3..lay5's inputs.
  for (let i = 1; i <= 3; i++) s.conv(`mask_head.adapter${i}`, widths[i], stages[stages.length - 1 - i], 1, 1, true);
  s.conv('mask_head.out_lay', 1, widths[4], 3, 3, true);
}

/** timm's ResNet (`backbone`, optionally narrowed by `backbone_kwargs` channels / layers); returns each stage's channels. */
function timmResnet(c: ConfigReader, raw: RawConfig, s: StateDictBuilder, prefix: string): number[] {
  const name = (raw.backbone as string | null) ?? '';
  const net = TIMM_RESNETS[name];
  if (!net) throw new VitkitError('MODEL_TYPE_UNSUPPORTED', `DETR state dicts are declared for timm ResNets 18–152 (got "${name}").`);
  const kwargs = (raw.backbone_kwargs ?? {}) as { channels?: number[]; layers?: number[] };
  const widths = kwargs.channels ?? [64, 128, 256, 512];
  const blocks = kwargs.layers ?? net.blocks;
  // timm's plain 7x7 stem is 64 wide whatever `stem_width` says (that sizes the deep stems only).
  const stem = 64;
  s.conv(`${prefix}conv1`, stem, c.int('num_channels', 3), 7);
  s.batchNorm(`${prefix}bn1`, stem);
  let channels = stem;
  const expansion = net.bottleneck ? 4 : 1;
  const stages: number[] = [];
  for (let st = 0; st < 4; st++) {
    const width = widths[st];
    for (let i = 0; i < blocks[st]; i++) {
      const p = `${prefix}layer${st + 1}.${i}.`;
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
    stages.push(channels);
  }
  return stages;
}

/** transformers' ResNetBackbone from `backbone_config` (embedder, stages of basic or bottleneck layers); returns each stage's channels. */
function hfResnet(raw: RawConfig, s: StateDictBuilder, backbone: string): number[] {
  const bc = new ConfigReader((raw.backbone_config ?? {}) as RawConfig, 'config.json backbone_config');
  const depths = bc.intArray('depths');
  const sizes = bc.intArray('hidden_sizes');
  const bottleneck = bc.string('layer_type', 'bottleneck') === 'bottleneck';
  const embedding = bc.int('embedding_size', 64);
  s.conv(`${backbone}embedder.embedder.convolution`, embedding, bc.int('num_channels', 3), 7);
  s.batchNorm(`${backbone}embedder.embedder.normalization`, embedding);
  let channels = embedding;
  const stages: number[] = [];
  depths.forEach((depth, st) => {
    const out = sizes[st];
    const firstStride = st === 0 && !bc.bool('downsample_in_first_stage', false) ? 1 : 2;
    for (let l = 0; l < depth; l++) {
      const p = `${backbone}encoder.stages.${st}.layers.${l}.`;
      const inp = l === 0 ? channels : out;
      const convs: [number, number, number][] = bottleneck
        ? [
            [out / 4, inp, 1],
            [out / 4, out / 4, 3],
            [out, out / 4, 1],
          ]
        : [
            [out, inp, 3],
            [out, out, 3],
          ];
      convs.forEach(([o, i, k], j) => {
        s.conv(`${p}layer.${j}.convolution`, o, i, k);
        s.batchNorm(`${p}layer.${j}.normalization`, o);
      });
      if (l === 0 && (inp !== out || firstStride !== 1)) {
        s.conv(`${p}shortcut.convolution`, out, inp, 1);
        s.batchNorm(`${p}shortcut.normalization`, out);
      }
    }
    channels = out;
    stages.push(out);
  });
  return stages;
}
