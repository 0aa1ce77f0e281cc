// A checkpoint folder the user picked (File System Access, <input webkitdirectory> or dropped
// files) turned into what `AutoModel.fromFiles` takes: config.json, preprocessor_config.json when
// present, and the weights of every *.safetensors file (one file or the shards of a sharded one).
import { checkSideFileSize, type PretrainedFiles, type RawConfig, readSafetensors, type Tensor, VitkitError } from '@vitkit/core';
import { WeightStore } from '@vitkit/core/internal';

/** The file's own name, whatever folder path the picker prefixed. */
function baseName(file: File): string {
  return file.name.slice(file.name.lastIndexOf('/') + 1);
}

async function readJson(file: File, label: string): Promise<RawConfig> {
  let value: unknown;
  try {
    value = JSON.parse(await file.text());
  } catch (cause) {
    throw new VitkitError('CONFIG_INVALID', `${label}/${baseName(file)} is not valid JSON.`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VitkitError('CONFIG_INVALID', `${label}/${baseName(file)} must hold a JSON object.`);
  }
  return value as RawConfig;
}

export async function checkpointFromFiles(files: readonly File[], label: string): Promise<PretrainedFiles> {
  const named = new Map(files.map((f) => [baseName(f), f]));
  const config = named.get('config.json');
  if (!config) {
    throw new VitkitError(
      'FILE_NOT_FOUND',
      `${label} has no config.json. Pick the checkpoint folder itself (the one save_pretrained wrote), or drop config.json with the weights.`,
    );
  }
  const weightFiles = [...named.values()].filter((f) => baseName(f).endsWith('.safetensors')).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (weightFiles.length === 0) {
    const hasBin = [...named.keys()].some((n) => n.endsWith('.bin'));
    throw new VitkitError(
      'FILE_NOT_FOUND',
      hasBin
        ? `${label} holds PyTorch .bin weights; the playground reads local folders as safetensors only. Serve the folder over HTTP and load it by URL, or convert it with save_pretrained(safe_serialization=True).`
        : `${label} has no *.safetensors weights next to config.json.`,
    );
  }
  const tensors = new Map<string, Tensor>();
  for (const f of weightFiles) {
    const read = readSafetensors(new Uint8Array(await f.arrayBuffer()), `${label}/${baseName(f)}`);
    for (const [key, t] of read.tensors) tensors.set(key, t);
  }
  const pre = named.get('preprocessor_config.json');
  return {
    source: label,
    dir: label,
    config: await readJson(config, label),
    preprocessorConfig: pre ? await readJson(pre, label) : undefined,
    weights: new WeightStore(tensors, label),
    // Side files (a tokenizer's vocab.txt, tokenizer.json, …) from the same picked folder.
    readFile: async (file) => {
      const picked = named.get(file);
      if (!picked) return undefined;
      checkSideFileSize(`${label}/${file}`, picked.size);
      return new Uint8Array(await picked.arrayBuffer());
    },
  };
}
