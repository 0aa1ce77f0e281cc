import { VitkitError } from '../errors/vitkit-error.js';
import { BYTES_PER_ELEMENT, type DType, viewAs } from '../tensor/dtype.js';
import { shapeSize, Tensor } from '../tensor/tensor.js';
import { PickleGlobal, unpickle } from './pickle.js';
import { looksLikeZip, readZip } from './zip.js';

/**
 * Reads a PyTorch `torch.save` checkpoint (the zip format written since torch 1.6):
 * `<name>/data.pkl` pickles the state dict, each tensor storage is `<name>/data/<key>`, and
 * `<name>/byteorder` says how storages are laid out. Tensors keep the checkpoint's dtype, 16-bit
 * floats as raw bits, exactly as `readSafetensors` loads them.
 */

/** Storage classes a state dict's persistent ids name, and the dtype each holds. */
const STORAGE_DTYPES: Record<string, DType> = {
  'torch.FloatStorage': 'float32',
  'torch.DoubleStorage': 'float64',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16',
  'torch.CharStorage': 'int8',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
};

/** `torch.<dtype>` globals, which `_rebuild_tensor_v3` passes for untyped storages. */
const TORCH_DTYPES: Record<string, DType> = {
  'torch.float32': 'float32',
  'torch.float64': 'float64',
  'torch.float16': 'float16',
  'torch.bfloat16': 'bfloat16',
  'torch.int64': 'int64',
  'torch.int32': 'int32',
  'torch.int16': 'int16',
  'torch.int8': 'int8',
  'torch.uint8': 'uint8',
  'torch.bool': 'bool',
};

const REBUILD_TENSOR_V2 = 'torch._utils._rebuild_tensor_v2';
const REBUILD_TENSOR_V3 = 'torch._utils._rebuild_tensor_v3';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils._rebuild_parameter_with_state';
const REBUILD_FROM_TYPE_V2 = 'torch._tensor._rebuild_from_type_v2';
const ORDERED_DICT = 'collections.OrderedDict';
/** Classes `_rebuild_from_type_v2` may name: plain tensors and parameters are all a state dict holds. */
const TENSOR_TYPES = ['torch.Tensor', 'torch.nn.parameter.Parameter'];

/** Everything a state dict pickle may name. Nothing here is ever called: each is a tag for a handler below. */
export const PYTORCH_ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ...Object.keys(STORAGE_DTYPES),
  ...Object.keys(TORCH_DTYPES),
  'torch.UntypedStorage',
  REBUILD_TENSOR_V2,
  REBUILD_TENSOR_V3,
  REBUILD_PARAMETER,
  REBUILD_PARAMETER_WITH_STATE,
  REBUILD_FROM_TYPE_V2,
  ORDERED_DICT,
  ...TENSOR_TYPES,
]);

/** A storage named by a persistent id; its bytes are fetched from the zip when a tensor needs them. */
interface StorageRef {
  kind: 'storage';
  key: string;
  /** Undefined for `UntypedStorage`, whose tensors carry their dtype themselves (v3). */
  dtype?: DType;
}

/** A tensor as the pickle describes it: a strided window onto a storage. */
interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  dtype: DType;
  offset: number;
  shape: number[];
  stride: number[];
}

export function readPytorchBin(bytes: Uint8Array, source = 'pytorch_model.bin'): Map<string, Tensor> {
  if (!looksLikeZip(bytes)) {
    const legacy = bytes[0] === 0x80;
    throw new VitkitError(
      legacy ? 'WEIGHTS_DTYPE_UNSUPPORTED' : 'ZIP_INVALID',
      legacy
        ? `${source} uses PyTorch's legacy (pre-1.6) serialization, which vitkit does not read; re-save it with a current torch.save, or convert it to safetensors.`
        : `${source} is not a PyTorch checkpoint (torch.save writes a zip archive).`,
    );
  }
  const entries = readZip(bytes, source);
  const pickleName = [...entries.keys()].find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) throw new VitkitError('ZIP_INVALID', `${source} has no <name>/data.pkl entry, so it is not a torch.save archive.`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  // Archives from before torch 1.10 have no byteorder record; they were always little-endian.
  const bigEndian = byteorder !== undefined && new TextDecoder().decode(byteorder).trim() === 'big';

  const root = unpickle(entries.get(pickleName) as Uint8Array, {
    source,
    allowedGlobals: PYTORCH_ALLOWED_GLOBALS,
    persistentLoad: (pid) => storageRef(pid, source),
    reduce: (callable, args) => rebuild(callable, args, source),
  });
  const stateDict = findStateDict(root, source);

  const tensors = new Map<string, Tensor>();
  for (const [name, value] of stateDict) {
    if (typeof name !== 'string' || !isTensorRef(value)) continue;
    const storage = entries.get(`${prefix}data/${value.storage.key}`);
    if (!storage) {
      throw new VitkitError(
        'ZIP_INVALID',
        `${source}: tensor "${name}" lives in storage ${value.storage.key}, which the archive lacks; the file is truncated or damaged.`,
      );
    }
    tensors.set(name, materialize(name, value, storage, bigEndian, source));
  }
  return tensors;
}

/** `torch.save(model.state_dict())` pickles the dict itself; some scripts wrap it as `{"state_dict": ...}`. */
function findStateDict(root: unknown, source: string): Map<unknown, unknown> {
  if (root instanceof Map) {
    const hasTensors = [...root.values()].some(isTensorRef);
    if (hasTensors) return root;
    for (const key of ['state_dict', 'model', 'model_state_dict']) {
      const inner = root.get(key);
      if (inner instanceof Map && [...inner.values()].some(isTensorRef)) return inner;
    }
    if (root.size === 0) return root;
  }
  throw new VitkitError('PICKLE_INVALID', `${source}: the pickle does not hold a state dict (a mapping of names to tensors).`);
}

function storageRef(pid: unknown, source: string): StorageRef {
  // ('storage', <storage class>, key, location, numel)
  if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof PickleGlobal) || typeof pid[2] !== 'string') {
    throw new VitkitError(
      'PICKLE_INVALID',
      `${source}: a persistent id is not the ('storage', type, key, location, size) record torch.save writes.`,
    );
  }
  const type = pid[1].qualifiedName;
  if (type === 'torch.UntypedStorage') return { kind: 'storage', key: pid[2] };
  const dtype = STORAGE_DTYPES[type];
  if (!dtype) throw new VitkitError('PICKLE_INVALID', `${source}: persistent id names ${type}, which is not a storage class.`);
  return { kind: 'storage', key: pid[2], dtype };
}

function rebuild(callable: PickleGlobal, args: unknown[], source: string): unknown {
  switch (callable.qualifiedName) {
    case ORDERED_DICT:
      return new Map();
    case REBUILD_TENSOR_V2:
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      return tensorRef(args[0], args[1], args[2], args[3], undefined, source);
    case REBUILD_TENSOR_V3: {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
      const dtype = args[6] instanceof PickleGlobal ? TORCH_DTYPES[args[6].qualifiedName] : undefined;
      if (!dtype) throw new VitkitError('PICKLE_INVALID', `${source}: _rebuild_tensor_v3 without a known torch dtype.`);
      return tensorRef(args[0], args[1], args[2], args[3], dtype, source);
    }
    case REBUILD_PARAMETER:
    case REBUILD_PARAMETER_WITH_STATE:
      // (data, requires_grad, backward_hooks[, state]): a parameter is its data for inference.
      if (!isTensorRef(args[0])) throw new VitkitError('PICKLE_INVALID', `${source}: ${callable.name} without a tensor.`);
      return args[0];
    case REBUILD_FROM_TYPE_V2: {
      // (func, type, args, state): rebuilds a tensor subclass by calling func(*args).
      const [func, type, innerArgs] = args;
      if (
        !(func instanceof PickleGlobal) ||
        !(type instanceof PickleGlobal) ||
        !TENSOR_TYPES.includes(type.qualifiedName) ||
        !Array.isArray(innerArgs)
      ) {
        throw new VitkitError('PICKLE_INVALID', `${source}: _rebuild_from_type_v2 for something other than a tensor.`);
      }
      return rebuild(func, innerArgs, source);
    }
    default:
      throw new VitkitError('PICKLE_INVALID', `${source}: ${callable.qualifiedName} is allowed as a name but cannot be called.`);
  }
}

function tensorRef(
  storage: unknown,
  offset: unknown,
  shape: unknown,
  stride: unknown,
  dtype: DType | undefined,
  source: string,
): TensorRef {
  const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
  if (
    !isStorageRef(storage) ||
    !Number.isSafeInteger(offset) ||
    (offset as number) < 0 ||
    !isIntList(shape) ||
    !isIntList(stride) ||
    shape.length !== stride.length
  ) {
    throw new VitkitError('PICKLE_INVALID', `${source}: a tensor record lacks a storage, offset, size or stride.`);
  }
  const resolved = dtype ?? storage.dtype;
  if (!resolved) throw new VitkitError('PICKLE_INVALID', `${source}: a tensor on an untyped storage has no dtype.`);
  return { kind: 'tensor', storage, dtype: resolved, offset: offset as number, shape, stride };
}

function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && (v as StorageRef).kind === 'storage';
}

function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

/** Copies a (possibly strided, possibly offset) window of a storage into a contiguous Tensor. */
function materialize(name: string, ref: TensorRef, storage: Uint8Array, bigEndian: boolean, source: string): Tensor {
  const size = BYTES_PER_ELEMENT[ref.dtype];
  const count = shapeSize(ref.shape);
  // Furthest element the strides reach, so a bad record cannot read outside its storage.
  const last = count === 0 ? ref.offset : ref.offset + ref.shape.reduce((acc, d, i) => acc + (d - 1) * ref.stride[i], 0);
  if (count > 0 && (last + 1) * size > storage.byteLength) {
    throw new VitkitError(
      'WEIGHTS_TRUNCATED',
      `${source}: tensor "${name}" reaches element ${last} of storage ${ref.storage.key}, which holds only ${Math.floor(storage.byteLength / size)}; the file is truncated or damaged.`,
    );
  }
  let bytes: Uint8Array;
  if (isContiguous(ref.shape, ref.stride)) {
    bytes = storage.subarray(ref.offset * size, (ref.offset + count) * size);
    if (bigEndian) bytes = new Uint8Array(bytes);
  } else {
    bytes = gatherStrided(storage, ref, size, count);
  }
  if (bigEndian && size > 1) swapBytes(bytes, size);
  return new Tensor(ref.dtype, viewAs(ref.dtype, bytes), ref.shape);
}

/** Row-major strides, ignoring dimensions of size 1 (whose stride PyTorch leaves arbitrary). */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

function gatherStrided(storage: Uint8Array, ref: TensorRef, size: number, count: number): Uint8Array {
  const out = new Uint8Array(count * size);
  const rank = ref.shape.length;
  const index = new Array<number>(rank).fill(0);
  let source = ref.offset;
  for (let i = 0; i < count; i++) {
    out.set(storage.subarray(source * size, (source + 1) * size), i * size);
    // Odometer step over the logical index, moving the source position by each axis' stride.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      source += ref.stride[axis];
      if (index[axis] < ref.shape[axis]) break;
      source -= ref.stride[axis] * ref.shape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let at = 0; at < bytes.length; at += size) bytes.subarray(at, at + size).reverse();
}
