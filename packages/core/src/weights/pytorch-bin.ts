import { VitkitError } from '../errors/vitkit-error.js';
import { BYTES_PER_ELEMENT, type DType, viewAs } from '../tensor/dtype.js';
import { shapeSize, Tensor } from '../tensor/tensor.js';
import { allocateBytes, type ByteSource, bytesSource } from './byte-source.js';
import { PickleGlobal, unpickle } from './pickle.js';
import type { WeightInfo } from './weight-store.js';
import { looksLikeZip, ZipArchive, type ZipEntry } from './zip.js';

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

/** Bytes of all tensors together may reach this multiple of what the archive holds (tied weights share storages). */
const MAX_VIEW_FACTOR = 4;
/** `data.pkl` above this is refused before it is read: a state dict's pickle takes ~200 bytes a tensor. */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
/** `byteorder` holds "little" or "big". */
const MAX_BYTEORDER_BYTES = 16;

/** A torch.save archive whose pickle is parsed: every tensor's dtype and shape, and a reader for each. */
export interface PytorchArchive {
  readonly info: ReadonlyMap<string, WeightInfo>;
  /** Reads one tensor's data (contiguous, little-endian) from the archive. */
  read(name: string): Tensor;
}

/** Reads every tensor of a `torch.save` archive held in memory; contiguous tensors view `bytes`. */
export function readPytorchBin(bytes: Uint8Array, source = 'pytorch_model.bin'): Map<string, Tensor> {
  const archive = openPytorchBin(bytesSource(bytes, source));
  const tensors = new Map<string, Tensor>();
  for (const name of archive.info.keys()) tensors.set(name, archive.read(name));
  return tensors;
}

/**
 * Parses a `torch.save` archive's directory and pickle, reading nothing else: tensor data is read
 * by range when `read` asks for it (stored storages in place, as `torch.save` writes them). Every
 * tensor is checked here to lie inside its storage, and to fit what the archive could hold.
 */
export function openPytorchBin(file: ByteSource): PytorchArchive {
  const source = file.source;
  if (!looksLikeZip(file.read(0, Math.min(4, file.size)))) {
    const legacy = file.size > 0 && file.read(0, 1)[0] === 0x80;
    throw new VitkitError(
      legacy ? 'WEIGHTS_DTYPE_UNSUPPORTED' : 'ZIP_INVALID',
      legacy
        ? `${source} uses PyTorch's legacy (pre-1.6) serialization, which vitkit does not read; re-save it with a current torch.save, or convert it to safetensors.`
        : `${source} is not a PyTorch checkpoint (torch.save writes a zip archive).`,
    );
  }
  const zip = ZipArchive.open(file);
  let pickleName: string | undefined;
  for (const name of zip.names()) {
    if (/^[^/]+\/data\.pkl$/.test(name)) {
      pickleName = name;
      break;
    }
  }
  if (!pickleName) throw new VitkitError('ZIP_INVALID', `${source} has no <name>/data.pkl entry, so it is not a torch.save archive.`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const pickleEntry = zip.entry(pickleName) as ZipEntry;
  if (pickleEntry.size > MAX_PICKLE_BYTES) {
    throw new VitkitError(
      'PICKLE_INVALID',
      `${source}: data.pkl declares ${pickleEntry.size} bytes, more than any state dict's pickle; the file is corrupt.`,
    );
  }
  const byteorderEntry = zip.entry(`${prefix}byteorder`);
  if (byteorderEntry && byteorderEntry.size > MAX_BYTEORDER_BYTES) {
    throw new VitkitError(
      'ZIP_INVALID',
      `${source}: the byteorder record has ${byteorderEntry.size} bytes; it should say "little" or "big".`,
    );
  }
  // Archives from before torch 1.10 have no byteorder record; they were always little-endian.
  const bigEndian = byteorderEntry !== undefined && new TextDecoder().decode(zip.read(byteorderEntry)).trim() === 'big';

  const root = unpickle(zip.read(pickleEntry), {
    source,
    allowedGlobals: PYTORCH_ALLOWED_GLOBALS,
    persistentLoad: (pid) => storageRef(pid, source),
    reduce: (callable, args) => rebuild(callable, args, source),
  });
  const stateDict = findStateDict(root, source);

  const refs = new Map<string, { ref: TensorRef; entry: ZipEntry }>();
  const storageBytes = new Map<string, number>();
  let viewBytes = 0;
  for (const [name, value] of stateDict) {
    if (typeof name !== 'string' || !isTensorRef(value)) continue;
    const entry = zip.entry(`${prefix}data/${value.storage.key}`);
    if (!entry) {
      throw new VitkitError(
        'ZIP_INVALID',
        `${source}: tensor "${name}" lives in storage ${value.storage.key}, which the archive lacks; the file is truncated or damaged.`,
      );
    }
    viewBytes += checkExtent(name, value, entry, file.size, source);
    storageBytes.set(entry.name, entry.size);
    refs.set(name, { ref: value, entry });
  }
  // Views of one storage (stride 0, overlapping windows) could otherwise ask for far more memory than the file holds.
  const capacity = Math.max(
    file.size,
    [...storageBytes.values()].reduce((a, b) => a + b, 0),
  );
  if (viewBytes > MAX_VIEW_FACTOR * capacity) {
    throw new VitkitError(
      'PICKLE_INVALID',
      `${source}: its tensors add up to ${viewBytes} bytes, over ${MAX_VIEW_FACTOR}× the ${capacity} bytes of storage the archive holds; the file is corrupt or hostile.`,
    );
  }

  const info = new Map<string, WeightInfo>();
  for (const [name, { ref }] of refs) info.set(name, { dtype: ref.dtype, shape: ref.shape });
  // Deflated storages (torch.save never writes them) are inflated once and kept, not once per view.
  const inflated = new Map<string, Uint8Array>();
  return {
    info,
    read(name) {
      const found = refs.get(name);
      if (!found) throw new VitkitError('WEIGHTS_MISSING_TENSOR', `${source} has no tensor "${name}".`);
      const { ref, entry } = found;
      const storage = (first: number, length: number): Uint8Array => {
        if (entry.method === 0) return zip.readStored(entry, first, length);
        let all = inflated.get(entry.name);
        if (!all) {
          all = zip.read(entry);
          inflated.set(entry.name, all);
        }
        return all.subarray(first, first + length);
      };
      return materialize(ref, storage, bigEndian, source);
    },
  };
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
      // (func, type, args, state): rebuilds a tensor subclass by calling func(*args). torch's func
      // is a tensor rebuild, never this one again: refusing that bounds the recursion (a pickle can
      // make `args` contain itself).
      const [func, type, innerArgs] = args;
      if (
        !(func instanceof PickleGlobal) ||
        func.qualifiedName === REBUILD_FROM_TYPE_V2 ||
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

/**
 * Checks that a tensor lies inside its storage and that materializing it fits what the archive
 * could hold (a zero-stride view of a few bytes can declare billions of elements); returns its size
 * in bytes.
 */
function checkExtent(name: string, ref: TensorRef, entry: ZipEntry, fileSize: number, source: string): number {
  const size = BYTES_PER_ELEMENT[ref.dtype];
  const count = shapeSize(ref.shape);
  if (count === 0) return 0;
  const bytes = count * size;
  const limit = Math.max(fileSize, entry.size);
  if (bytes > limit) {
    throw new VitkitError(
      'PICKLE_INVALID',
      `${source}: tensor "${name}" declares ${count} elements (${bytes} bytes), more than the ${limit}-byte archive could hold; the file is corrupt or hostile.`,
    );
  }
  // Furthest element the strides reach, so a bad record cannot read outside its storage.
  const last = ref.offset + ref.shape.reduce((acc, d, i) => acc + (d - 1) * ref.stride[i], 0);
  if ((last + 1) * size > entry.size) {
    throw new VitkitError(
      'WEIGHTS_TRUNCATED',
      `${source}: tensor "${name}" reaches element ${last} of storage ${ref.storage.key}, which holds only ${Math.floor(entry.size / size)}; the file is truncated or damaged.`,
    );
  }
  return bytes;
}

/**
 * A (possibly strided, possibly offset) window of a storage as a contiguous Tensor. `storage(first,
 * length)` returns bytes of the storage; only the span the tensor reaches is asked for.
 */
function materialize(ref: TensorRef, storage: (first: number, length: number) => Uint8Array, bigEndian: boolean, source: string): Tensor {
  const size = BYTES_PER_ELEMENT[ref.dtype];
  const count = shapeSize(ref.shape);
  let bytes: Uint8Array;
  if (count === 0) {
    bytes = new Uint8Array(0);
  } else if (isContiguous(ref.shape, ref.stride)) {
    bytes = storage(ref.offset * size, count * size);
    if (bigEndian) bytes = new Uint8Array(bytes);
  } else {
    const last = ref.offset + ref.shape.reduce((acc, d, i) => acc + (d - 1) * ref.stride[i], 0);
    bytes = gatherStrided(storage(ref.offset * size, (last - ref.offset + 1) * size), ref, size, count, source);
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

/** Copies a strided window out of `span` (which starts at the tensor's first element), row-major. */
function gatherStrided(span: Uint8Array, ref: TensorRef, size: number, count: number, source: string): Uint8Array {
  // Size-1 axes move nothing; dropping them keeps the odometer's work per element constant.
  const axes = ref.shape.map((d, i) => [d, ref.stride[i] * size]).filter(([d]) => d !== 1);
  const shape = axes.map(([d]) => d);
  const stride = axes.map(([, s]) => s);
  const rank = shape.length;
  const out = allocateBytes(count * size, source);
  // The innermost axis is copied as one run when its elements are adjacent.
  const run = rank > 0 && stride[rank - 1] === size ? shape[rank - 1] : 1;
  const runBytes = run * size;
  const outer = rank > 0 && run > 1 ? rank - 1 : rank;
  const index = new Array<number>(outer).fill(0);
  let from = 0;
  for (let to = 0; to < out.byteLength; to += runBytes) {
    if (runBytes === size && size <= 8) for (let b = 0; b < size; b++) out[to + b] = span[from + b];
    else out.set(span.subarray(from, from + runBytes), to);
    // Odometer step over the outer axes, moving the source position by each axis' stride.
    for (let axis = outer - 1; axis >= 0; axis--) {
      index[axis]++;
      from += stride[axis];
      if (index[axis] < shape[axis]) break;
      from -= stride[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let at = 0; at < bytes.length; at += size) bytes.subarray(at, at + size).reverse();
}
