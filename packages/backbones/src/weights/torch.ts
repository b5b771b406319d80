/**
 * PyTorch checkpoints as `torch.save` writes them (the zip format of torch >= 1.6: `NAME/data.pkl`,
 * a pickle, beside `NAME/data/KEY`, the raw little-endian storages), read without Python and
 * without running anything from the file. The pickle is interpreted by a restricted machine: it
 * knows the opcodes that build data (numbers, strings, bytes, lists, tuples, dicts) and an
 * allow-list of globals (OrderedDict, torch's tensor and parameter rebuilders, the storage types).
 * Any other global, or an opcode that builds arbitrary objects, is an UnsafeCheckpointError before
 * anything else happens. The zip is read by fflate.
 */
import { unzipSync } from 'fflate';

import { UnsafeCheckpointError, WeightFormatError } from '../errors.js';
import { halfToFloat, type SafetensorsDtype, type SafetensorsEntry } from './safetensors.js';

/** A tensor of a checkpoint: its values as float32 (integers too), its shape and its stored dtype. */
export type TorchTensor = SafetensorsEntry;

/** What a checkpoint's pickle holds: tensors inside plain data. Dicts keep their insertion order. */
export type TorchValue =
  null | boolean | number | string | Uint8Array | TorchTensor | TorchValue[] | Map<string | number, TorchValue> | { tuple: TorchValue[] };

const STORAGES: Record<string, { dtype: SafetensorsDtype | 'U8' | 'BOOL' | 'I16' | 'I8'; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 },
  CharStorage: { dtype: 'I8', bytes: 1 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

class StorageType {
  constructor(readonly name: string) {}
}
class Storage {
  constructor(
    readonly values: Float32Array,
    readonly dtype: SafetensorsDtype,
  ) {}
}
/** A callable the machine knows (an allowed global). */
class Callable {
  constructor(
    readonly name: string,
    readonly call: (args: TorchValue[]) => TorchValue,
  ) {}
}
const MARK = Symbol('mark');
type Item = TorchValue | StorageType | Storage | Callable | typeof MARK;

const isTensor = (v: unknown): v is TorchTensor =>
  !!v && typeof v === 'object' && 'data' in v && 'shape' in v && (v as TorchTensor).data instanceof Float32Array;

function decodeStorage(bytes: Uint8Array, type: string, source: string): Storage {
  const t = STORAGES[type]!;
  const n = Math.floor(bytes.byteLength / t.bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * t.bytes;
    switch (t.dtype) {
      case 'F32':
        out[i] = view.getFloat32(o, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(o, true);
        break;
      case 'F16':
        out[i] = halfToFloat(view.getUint16(o, true));
        break;
      case 'BF16':
        out[i] = new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!;
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(o, true));
        break;
      case 'I32':
        out[i] = view.getInt32(o, true);
        break;
      case 'I16':
        out[i] = view.getInt16(o, true);
        break;
      case 'I8':
        out[i] = view.getInt8(o);
        break;
      default:
        out[i] = view.getUint8(o);
    }
  }
  if (n * t.bytes !== bytes.byteLength)
    throw new WeightFormatError(source, `a ${type} of ${bytes.byteLength} bytes is not a whole number of ${t.bytes}-byte values`);
  const dtype: SafetensorsDtype = t.dtype === 'F32' || t.dtype === 'F64' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'I64' ? t.dtype : 'I32';
  return new Storage(out, dtype);
}

/** A tensor view of a storage: offset, size and strides (any strides, gathered). */
function rebuildTensor(storage: Storage, offset: number, size: number[], stride: number[], source: string): TorchTensor {
  const n = size.reduce((a, b) => a * b, 1);
  const contiguous = size.every((_, d) => size[d] === 1 || stride[d] === size.slice(d + 1).reduce((a, b) => a * b, 1));
  if (contiguous) {
    if (offset + n > storage.values.length)
      throw new WeightFormatError(source, `a tensor of shape [${size}] reads past its storage (${storage.values.length} values)`);
    return { dtype: storage.dtype, shape: [...size], data: storage.values.slice(offset, offset + n) };
  }
  const data = new Float32Array(n);
  const idx = new Array<number>(size.length).fill(0);
  for (let i = 0; i < n; i++) {
    let at = offset;
    for (let d = 0; d < size.length; d++) at += idx[d]! * stride[d]!;
    if (at >= storage.values.length)
      throw new WeightFormatError(source, `a tensor of shape [${size}] reads past its storage (${storage.values.length} values)`);
    data[i] = storage.values[at]!;
    for (let d = size.length - 1; d >= 0; d--) {
      if (++idx[d]! < size[d]!) break;
      idx[d] = 0;
    }
  }
  return { dtype: storage.dtype, shape: [...size], data };
}

const tupleItems = (v: unknown): TorchValue[] | undefined => (v && typeof v === 'object' && 'tuple' in v ? (v as { tuple: TorchValue[] }).tuple : undefined);

/** Interpret a checkpoint's pickle; `storage(key, type)` gives a storage's bytes. */
function unpickle(bytes: Uint8Array, storage: (key: string, type: string) => Storage, source: string): TorchValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Item[] = [];
  const memo = new Map<number, Item>();
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.byteLength) throw new WeightFormatError(source, 'data.pkl ends in the middle of an instruction: truncated?');
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const raw = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const text = (n: number) => new TextDecoder().decode(raw(n));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new WeightFormatError(source, 'data.pkl ends in the middle of a global name');
    const s = new TextDecoder().decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): Item => {
    if (stack.length === 0) throw new WeightFormatError(source, 'data.pkl pops an empty stack: not a pickle?');
    return stack.pop()!;
  };
  const popMark = (): Item[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new WeightFormatError(source, 'data.pkl has no mark to pop to');
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const top = () => stack[stack.length - 1];
  const global = (module: string, name: string): Item => {
    const full = `${module}.${name}`;
    if (full === 'collections.OrderedDict') return new Callable(full, () => new Map());
    if (module === 'torch' && name in STORAGES) return new StorageType(name);
    if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
      return new Callable(full, (args) => {
        const [st, offset, size, stride] = args as unknown as [Storage, number, { tuple: number[] }, { tuple: number[] }];
        if (!(st instanceof Storage)) throw new WeightFormatError(source, `${full} got no storage`);
        return rebuildTensor(st, offset, tupleItems(size) as number[], tupleItems(stride) as number[], source);
      });
    }
    if (full === 'torch._utils._rebuild_parameter') {
      return new Callable(full, (args) => {
        if (!isTensor(args[0])) throw new WeightFormatError(source, `${full} got no tensor`);
        return args[0];
      });
    }
    throw new UnsafeCheckpointError(source, `the global ${full}`);
  };
  const setItems = (dict: Item, items: Item[]) => {
    if (!(dict instanceof Map)) throw new WeightFormatError(source, 'data.pkl sets items on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i] as string | number, items[i + 1] as TorchValue);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        raw(8);
        break;
      case 0x2e: // STOP
        return pop() as TorchValue;
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ tuple: [] });
        break;
      case 0x74: // TUPLE
        stack.push({ tuple: popMark() as TorchValue[] });
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        stack.push({ tuple: stack.splice(stack.length - n, n) as TorchValue[] });
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark() as TorchValue[]);
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        (top() as TorchValue[]).push(v as TorchValue);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw new WeightFormatError(source, 'data.pkl appends to something that is not a list');
        list.push(...(items as TorchValue[]));
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top()!, [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top()!, items);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1
        const n = u8();
        const b = raw(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top()!);
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top()!);
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top()!);
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new WeightFormatError(source, `data.pkl reads memo ${k}, which was never stored`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw new WeightFormatError(source, 'data.pkl names a global with something that is not a string');
        stack.push(global(module, name));
        break;
      }
      case 0x51: {
        // BINPERSID: ('storage', storage type, key, location, numel)
        const pid = tupleItems(pop());
        if (!pid || pid[0] !== 'storage' || !((pid[1] as unknown) instanceof StorageType) || typeof pid[2] !== 'string')
          throw new WeightFormatError(source, 'data.pkl refers to a persistent object that is not a tensor storage');
        stack.push(storage(pid[2], (pid[1] as unknown as StorageType).name));
        break;
      }
      case 0x52: {
        // REDUCE: only the allowed callables
        const args = pop();
        const f = pop();
        if (!(f instanceof Callable)) throw new UnsafeCheckpointError(source, 'a call of something that is not an allowed global');
        stack.push(f.call(tupleItems(args) ?? []));
        break;
      }
      case 0x62: {
        // BUILD: state for an OrderedDict (its _metadata) is dropped; nothing else may be built.
        pop();
        if (!(top() instanceof Map)) throw new UnsafeCheckpointError(source, 'setting the state of an object (BUILD) on something that is not a dict');
        break;
      }
      default:
        throw new UnsafeCheckpointError(
          source,
          `the pickle instruction 0x${op.toString(16).padStart(2, '0')} (${JSON.stringify(String.fromCharCode(op))}), which this reader does not run`,
        );
    }
  }
}

/**
 * Read a checkpoint written by `torch.save` (bytes of the file). Returns what the pickle holds,
 * tensors as float32 values with their shape: the state dict itself, or a dict around it.
 */
export function readTorchCheckpoint(bytes: Uint8Array, source = 'torch checkpoint'): TorchValue {
  if (bytes.byteLength >= 2 && bytes[0] === 0x80)
    throw new WeightFormatError(source, 'is the legacy (pre-1.6) torch format; load it in PyTorch and save it again');
  if (bytes.byteLength < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b)
    throw new WeightFormatError(source, 'is not a torch checkpoint (torch.save writes a zip file; this one does not start with PK)');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    throw new WeightFormatError(source, `cannot be unzipped: ${(error as Error).message}`);
  }
  const pkl = Object.keys(files).find((f) => /^[^/]+\/data\.pkl$/.test(f));
  if (!pkl) throw new WeightFormatError(source, 'holds no NAME/data.pkl: not a torch checkpoint');
  const root = pkl.slice(0, -'data.pkl'.length);
  const storages = new Map<string, Storage>();
  return unpickle(
    files[pkl]!,
    (key, type) => {
      if (!/^[A-Za-z0-9_]+$/.test(key)) throw new WeightFormatError(source, `a storage key ${JSON.stringify(key)} is not a plain name`);
      let s = storages.get(key);
      if (!s) {
        const data = files[`${root}data/${key}`];
        if (!data) throw new WeightFormatError(source, `storage ${key} (${root}data/${key}) is missing`);
        s = decodeStorage(data, type, source);
        storages.set(key, s);
      }
      return s;
    },
    source,
  );
}

/**
 * The state dict in a checkpoint: the value of `state_dict` (or `model`, `model_state_dict`) when
 * the top level is a dict around one, else the top level; `module.` prefixes (DataParallel) removed.
 * Non-tensor entries are left out. A WeightFormatError when there is no dict of tensors.
 */
export function torchStateDict(checkpoint: TorchValue, source = 'torch checkpoint'): Map<string, TorchTensor> {
  let dict = checkpoint;
  if (dict instanceof Map) {
    for (const key of ['state_dict', 'model', 'model_state_dict']) {
      const inner = dict.get(key);
      if (inner instanceof Map) {
        dict = inner;
        break;
      }
    }
  }
  if (!(dict instanceof Map)) throw new WeightFormatError(source, 'holds no dict of tensors (a state dict)');
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of dict) if (typeof k === 'string' && isTensor(v)) out.set(k.startsWith('module.') ? k.slice('module.'.length) : k, v);
  if (out.size === 0) throw new WeightFormatError(source, 'its state dict holds no tensors');
  return out;
}
