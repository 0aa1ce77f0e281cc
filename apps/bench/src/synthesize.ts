// Deterministic stand-in weights for a real checkpoint's config.json: every tensor Hugging Face's
// state dict holds, under its HF name and shape, with seeded values at sane scales. Speed does not
// depend on the values, but denormals and NaNs would, so the scales keep activations O(1).
//
// Why a per-architecture key list rather than a WeightStore that fabricates tensors on `get`: the
// family builders discover structure from the weights themselves (DETR's backbone counts blocks
// with `has()` and reads channel counts from shapes; the ViT builders probe prefixes and optional
// tensors), so a store that only answers what it is asked cannot know what to answer. The lists
// below follow the HF modules' __init__; a test holds them to every fixture checkpoint's keys.
import { ConfigReader, type RawConfig, Tensor, VitkitError } from '@vitkit/core/internal';

type Init = 'normal' | 'one' | 'bias' | 'var' | 'fanin' | 'relindex';
interface Spec {
  shape: number[];
  init: Init;
}
type Specs = Map<string, Spec>;

/** Names and shapes of the state dict `config.json` implies (architectures[0]). */
export function stateDictSpec(raw: RawConfig): Specs {
  const c = new ConfigReader(raw);
  const arch = c.optional<string[]>('architectures')?.[0] ?? '';
  const specs: Specs = new Map();
  const put = (name: string, shape: number[], init: Init) => specs.set(name, { shape, init });
  switch (arch) {
    case 'ViTModel':
    case 'ViTForImageClassification':
      vit(c, put, arch === 'ViTModel' ? '' : 'vit.', { pooler: arch === 'ViTModel', tokens: 1 });
      if (arch !== 'ViTModel') classifier(put, 'classifier', numLabels(raw), c.int('hidden_size'));
      break;
    case 'DeiTModel':
      vit(c, put, '', { pooler: true, tokens: 2 });
      break;
    case 'DeiTForImageClassification':
    case 'DeiTForImageClassificationWithTeacher': {
      vit(c, put, 'deit.', { pooler: false, tokens: 2 });
      const h = c.int('hidden_size');
      if (arch === 'DeiTForImageClassification') classifier(put, 'classifier', numLabels(raw), h);
      else {
        classifier(put, 'cls_classifier', numLabels(raw), h);
        classifier(put, 'distillation_classifier', numLabels(raw), h);
      }
      break;
    }
    case 'Dinov2Model':
    case 'Dinov2WithRegistersModel':
      dinov2(c, put, '', arch.includes('Registers'));
      break;
    case 'Dinov2ForImageClassification':
    case 'Dinov2WithRegistersForImageClassification':
      dinov2(c, put, 'dinov2.', arch.includes('Registers'));
      classifier(put, 'classifier', numLabels(raw), 2 * c.int('hidden_size'));
      break;
    case 'SwinModel':
    case 'SwinForImageClassification':
      swin(c, put, arch === 'SwinModel' ? '' : 'swin.', arch === 'SwinModel');
      if (arch !== 'SwinModel') {
        const dims = c.int('embed_dim') * 2 ** (c.optional<number[]>('depths')!.length - 1);
        classifier(put, 'classifier', numLabels(raw), dims);
      }
      break;
    case 'DetrForObjectDetection':
    case 'DetrModel':
      detr(c, raw, put, arch === 'DetrForObjectDetection');
      break;
    default:
      throw new VitkitError(
        'MODEL_TYPE_UNSUPPORTED',
        `The bench cannot synthesize weights for "${arch}"; pass --model with a real checkpoint.`,
      );
  }
  return specs;
}

type Put = (name: string, shape: number[], init: Init) => void;

function numLabels(raw: RawConfig): number {
  const id2label = raw.id2label as Record<string, string> | undefined;
  return id2label ? Object.keys(id2label).length : 2;
}

const linear = (put: Put, name: string, out: number, inp: number, bias = true) => {
  put(`${name}.weight`, [out, inp], 'normal');
  if (bias) put(`${name}.bias`, [out], 'bias');
};
const layerNorm = (put: Put, name: string, dim: number) => {
  put(`${name}.weight`, [dim], 'one');
  put(`${name}.bias`, [dim], 'bias');
};
const classifier = (put: Put, name: string, labels: number, dim: number) => linear(put, name, labels, dim);

function patchEmbed(c: ConfigReader, put: Put, p: string, hidden: number) {
  const [ph, pw] = c.pair('patch_size');
  put(`${p}embeddings.patch_embeddings.projection.weight`, [hidden, c.int('num_channels', 3), ph, pw], 'fanin');
  put(`${p}embeddings.patch_embeddings.projection.bias`, [hidden], 'bias');
  const [ih, iw] = c.pair('image_size');
  return Math.floor(ih / ph) * Math.floor(iw / pw);
}

function attention(put: Put, p: string, hidden: number, qkvBias: boolean) {
  for (const n of ['query', 'key', 'value']) linear(put, `${p}attention.attention.${n}`, hidden, hidden, qkvBias);
  linear(put, `${p}attention.output.dense`, hidden, hidden);
}

/** ViTModel / DeiT: layernorm_before, attention, layernorm_after, intermediate.dense, output.dense. */
function vit(c: ConfigReader, put: Put, p: string, o: { pooler: boolean; tokens: number }) {
  const h = c.int('hidden_size');
  const inter = c.int('intermediate_size');
  const patches = patchEmbed(c, put, p, h);
  put(`${p}embeddings.cls_token`, [1, 1, h], 'normal');
  if (o.tokens === 2) put(`${p}embeddings.distillation_token`, [1, 1, h], 'normal');
  put(`${p}embeddings.position_embeddings`, [1, patches + o.tokens, h], 'normal');
  for (let i = 0; i < c.int('num_hidden_layers'); i++) {
    const l = `${p}encoder.layer.${i}.`;
    attention(put, l, h, c.optional<boolean>('qkv_bias') ?? true);
    linear(put, `${l}intermediate.dense`, inter, h);
    linear(put, `${l}output.dense`, h, inter);
    layerNorm(put, `${l}layernorm_before`, h);
    layerNorm(put, `${l}layernorm_after`, h);
  }
  layerNorm(put, `${p}layernorm`, h);
  if (o.pooler) linear(put, `${p}pooler.dense`, h, h);
}

/** Dinov2Model (+registers): norm1, attention, layer_scale1, norm2, mlp (or SwiGLU), layer_scale2. */
function dinov2(c: ConfigReader, put: Put, p: string, registers: boolean) {
  const h = c.int('hidden_size');
  const patches = patchEmbed(c, put, p, h);
  put(`${p}embeddings.cls_token`, [1, 1, h], 'normal');
  put(`${p}embeddings.mask_token`, [1, h], 'normal');
  if (registers) put(`${p}embeddings.register_tokens`, [1, c.int('num_register_tokens'), h], 'normal');
  put(`${p}embeddings.position_embeddings`, [1, patches + 1, h], 'normal');
  const hidden = Math.trunc(h * c.number('mlp_ratio', 4));
  const swiglu = c.optional<boolean>('use_swiglu_ffn') ?? false;
  for (let i = 0; i < c.int('num_hidden_layers'); i++) {
    const l = `${p}encoder.layer.${i}.`;
    layerNorm(put, `${l}norm1`, h);
    attention(put, l, h, c.optional<boolean>('qkv_bias') ?? true);
    put(`${l}layer_scale1.lambda1`, [h], 'one');
    layerNorm(put, `${l}norm2`, h);
    if (swiglu) {
      const sh = Math.floor((Math.trunc((hidden * 2) / 3) + 7) / 8) * 8;
      linear(put, `${l}mlp.weights_in`, 2 * sh, h);
      linear(put, `${l}mlp.weights_out`, h, sh);
    } else {
      linear(put, `${l}mlp.fc1`, hidden, h);
      linear(put, `${l}mlp.fc2`, h, hidden);
    }
    put(`${l}layer_scale2.lambda1`, [h], 'one');
  }
  layerNorm(put, `${p}layernorm`, h);
}

/** Swin: patch embedding + norm, stages of blocks with relative-position tables, patch merging. */
function swin(c: ConfigReader, put: Put, p: string, pooler: boolean) {
  const embed = c.int('embed_dim');
  const depths = c.optional<number[]>('depths')!;
  const heads = c.optional<number[]>('num_heads')!;
  const win = c.int('window_size');
  const ratio = c.number('mlp_ratio', 4);
  const qkvBias = c.optional<boolean>('qkv_bias') ?? true;
  const patches = patchEmbed(c, put, p, embed);
  if (c.optional<boolean>('use_absolute_embeddings')) put(`${p}embeddings.position_embeddings`, [1, patches + 1, embed], 'normal');
  layerNorm(put, `${p}embeddings.norm`, embed);
  for (let s = 0; s < depths.length; s++) {
    const dim = embed * 2 ** s;
    for (let b = 0; b < depths[s]; b++) {
      const l = `${p}encoder.layers.${s}.blocks.${b}.`;
      layerNorm(put, `${l}layernorm_before`, dim);
      put(`${l}attention.self.relative_position_bias_table`, [(2 * win - 1) ** 2, heads[s]], 'normal');
      put(`${l}attention.self.relative_position_index`, [win * win, win * win], 'relindex');
      for (const n of ['query', 'key', 'value']) linear(put, `${l}attention.self.${n}`, dim, dim, qkvBias);
      linear(put, `${l}attention.output.dense`, dim, dim);
      layerNorm(put, `${l}layernorm_after`, dim);
      linear(put, `${l}intermediate.dense`, Math.trunc(dim * ratio), dim);
      linear(put, `${l}output.dense`, dim, Math.trunc(dim * ratio));
    }
    if (s < depths.length - 1) {
      linear(put, `${p}encoder.layers.${s}.downsample.reduction`, 2 * dim, 4 * dim, false);
      layerNorm(put, `${p}encoder.layers.${s}.downsample.norm`, 4 * dim);
    }
  }
  layerNorm(put, `${p}layernorm`, embed * 2 ** (depths.length - 1));
  if (pooler) return; // SwinModel's pooler is an AdaptiveAvgPool: no weights.
}

const TIMM_RESNETS: Record<string, { blocks: number[]; bottleneck: boolean }> = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false },
  resnet34: { blocks: [3, 4, 6, 3], bottleneck: false },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true },
  resnet101: { blocks: [3, 4, 23, 3], bottleneck: true },
  resnet152: { blocks: [3, 8, 36, 3], bottleneck: true },
};

/** DETR with a timm ResNet backbone (as facebook/detr-resnet-50 is): frozen batch norms, 1x1 projection, transformer, heads. */
function detr(c: ConfigReader, raw: RawConfig, put: Put, heads: boolean) {
  const backbone = (raw.backbone as string | null) ?? '';
  const net = TIMM_RESNETS[backbone];
  if (!(raw.use_timm_backbone ?? true) || !net) {
    throw new VitkitError(
      'MODEL_TYPE_UNSUPPORTED',
      `The bench synthesizes DETR weights for timm ResNet backbones only (got "${backbone}").`,
    );
  }
  const bb = 'model.backbone.conv_encoder.model.';
  const bn = (name: string, ch: number) => {
    put(`${name}.weight`, [ch], 'one');
    put(`${name}.bias`, [ch], 'bias');
    put(`${name}.running_mean`, [ch], 'bias');
    put(`${name}.running_var`, [ch], 'var');
  };
  put(`${bb}conv1.weight`, [64, c.int('num_channels', 3), 7, 7], 'fanin');
  bn(`${bb}bn1`, 64);
  let channels = 64;
  const expansion = net.bottleneck ? 4 : 1;
  for (let s = 0; s < 4; s++) {
    const width = 64 * 2 ** s;
    for (let i = 0; i < net.blocks[s]; i++) {
      const p = `${bb}layer${s + 1}.${i}.`;
      if (net.bottleneck) {
        put(`${p}conv1.weight`, [width, channels, 1, 1], 'fanin');
        bn(`${p}bn1`, width);
        put(`${p}conv2.weight`, [width, width, 3, 3], 'fanin');
        bn(`${p}bn2`, width);
        put(`${p}conv3.weight`, [width * 4, width, 1, 1], 'fanin');
        bn(`${p}bn3`, width * 4);
      } else {
        put(`${p}conv1.weight`, [width, channels, 3, 3], 'fanin');
        bn(`${p}bn1`, width);
        put(`${p}conv2.weight`, [width, width, 3, 3], 'fanin');
        bn(`${p}bn2`, width);
      }
      if (i === 0 && (s > 0 || channels !== width * expansion)) {
        put(`${p}downsample.0.weight`, [width * expansion, channels, 1, 1], 'fanin');
        bn(`${p}downsample.1`, width * expansion);
      }
      channels = width * expansion;
    }
  }
  const d = c.int('d_model');
  put('model.input_projection.weight', [d, channels, 1, 1], 'fanin');
  put('model.input_projection.bias', [d], 'bias');
  put('model.query_position_embeddings.weight', [c.int('num_queries'), d], 'normal');
  const attn = (p: string) => {
    for (const n of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) linear(put, `${p}.${n}`, d, d);
  };
  for (let i = 0; i < c.int('encoder_layers'); i++) {
    const p = `model.encoder.layers.${i}.`;
    attn(`${p}self_attn`);
    layerNorm(put, `${p}self_attn_layer_norm`, d);
    linear(put, `${p}fc1`, c.int('encoder_ffn_dim'), d);
    linear(put, `${p}fc2`, d, c.int('encoder_ffn_dim'));
    layerNorm(put, `${p}final_layer_norm`, d);
  }
  for (let i = 0; i < c.int('decoder_layers'); i++) {
    const p = `model.decoder.layers.${i}.`;
    attn(`${p}self_attn`);
    layerNorm(put, `${p}self_attn_layer_norm`, d);
    attn(`${p}encoder_attn`);
    layerNorm(put, `${p}encoder_attn_layer_norm`, d);
    linear(put, `${p}fc1`, c.int('decoder_ffn_dim'), d);
    linear(put, `${p}fc2`, d, c.int('decoder_ffn_dim'));
    layerNorm(put, `${p}final_layer_norm`, d);
  }
  layerNorm(put, 'model.decoder.layernorm', d);
  if (heads) {
    linear(put, 'class_labels_classifier', numLabels(raw) + 1, d);
    linear(put, 'bbox_predictor.layers.0', d, d);
    linear(put, 'bbox_predictor.layers.1', d, d);
    linear(put, 'bbox_predictor.layers.2', 4, d);
  }
}

/** FNV-1a of the name: each tensor's stream depends on its name only, not on the order of creation. */
function seedOf(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32 + Box-Muller: standard normals from a 32-bit seed. */
function normals(n: number, seed: number): Float32Array {
  let s = seed || 1;
  const uniform = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

function relativePositionIndex(win: number): BigInt64Array {
  const n = win * win;
  const out = new BigInt64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const dy = Math.floor(a / win) - Math.floor(b / win) + win - 1;
      const dx = (a % win) - (b % win) + win - 1;
      out[a * n + b] = BigInt(dy * (2 * win - 1) + dx);
    }
  }
  return out;
}

function materialize(name: string, spec: Spec, seed: number): Tensor {
  const { shape, init } = spec;
  if (init === 'relindex') return new Tensor('int64', relativePositionIndex(Math.round(Math.sqrt(shape[0]))), shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const z = normals(size, seedOf(name, seed));
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < size; i++) {
    const v = z[i];
    switch (init) {
      case 'normal':
        z[i] = 0.02 * v;
        break;
      case 'one':
        z[i] = 1 + 0.02 * v;
        break;
      case 'bias':
        z[i] = 0.01 * v;
        break;
      case 'var':
        z[i] = 1 + 0.1 * Math.abs(v);
        break;
      case 'fanin':
        z[i] = v / Math.sqrt(fanIn);
        break;
    }
  }
  return new Tensor('float32', z, shape);
}

/** The full synthesized state dict for `config.json`, deterministic in `seed`. */
export function synthesizeWeights(config: RawConfig, seed = 0): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, spec] of stateDictSpec(config)) out.set(name, materialize(name, spec, seed));
  return out;
}
