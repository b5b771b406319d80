// Checkpoints in torch.save's zip format, built here byte by byte (the pickle opcodes torch writes),
// and pickles that try to run something: refused, naming what they asked for.
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import { UnsafeCheckpointError, WeightFormatError } from '../errors.js';
import { readTorchCheckpoint, torchStateDict } from './torch.js';

const enc = new TextEncoder();
/** A pickle from parts: strings are raw opcodes/bytes (latin-1), numbers single bytes. */
function pickle(...parts: (string | number | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'number' ? Uint8Array.of(p) : typeof p === 'string' ? Uint8Array.from(p, (c) => c.charCodeAt(0)) : p));
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}
/** BINUNICODE */
const str = (s: string) => {
  const b = enc.encode(s);
  return pickle('X', Uint8Array.from([b.length, 0, 0, 0]), b);
};
const floats = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

/** { 'module.w': tensor [2, 3] over storage 0 with the given strides, 'module.n': int64 scalar } in an outer { 'state_dict': ... }. */
function checkpoint(stride: [number, number]): Uint8Array {
  const tensor = (key: string, type: string, numel: number, size: string | Uint8Array, strideOps: string | Uint8Array) =>
    pickle(
      'ctorch._utils\n_rebuild_tensor_v2\n',
      '(',
      '(',
      str('storage'),
      `ctorch\n${type}\n`,
      str(key),
      str('cpu'),
      'K',
      numel,
      't',
      'Q',
      'K',
      0,
      size,
      strideOps,
      '\x89',
      'ccollections\nOrderedDict\n',
      ')',
      'R',
      't',
      'R',
    );
  const data = pickle(
    '\x80\x02',
    '}',
    'q',
    0,
    str('epoch'),
    'K',
    7,
    's',
    str('state_dict'),
    'ccollections\nOrderedDict\n',
    ')',
    'R',
    'q',
    1,
    '(',
    str('module.w'),
    tensor('0', 'FloatStorage', 6, pickle('K', 2, 'K', 3, '\x86'), pickle('K', stride[0], 'K', stride[1], '\x86')),
    str('module.n'),
    tensor('1', 'LongStorage', 1, ')', ')'),
    'u',
    // the state dict's _metadata, set by BUILD on the OrderedDict
    '}',
    'b',
    's',
    '.',
  );
  return zipSync({
    'ck/data.pkl': data,
    'ck/data/0': floats(0, 1, 2, 3, 4, 5),
    'ck/data/1': new Uint8Array(new BigInt64Array([42n]).buffer),
    'ck/version': enc.encode('3\n'),
  });
}

describe('readTorchCheckpoint', () => {
  it('reads the state dict of a zip checkpoint, strides and module. prefixes included', () => {
    const ck = readTorchCheckpoint(checkpoint([3, 1]), 'ck.pth');
    expect(ck instanceof Map && ck.get('epoch')).toBe(7);
    const sd = torchStateDict(ck, 'ck.pth');
    expect([...sd.keys()]).toEqual(['w', 'n']);
    expect(sd.get('w')!.shape).toEqual([2, 3]);
    expect(Array.from(sd.get('w')!.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(sd.get('n')!.data)).toEqual([42]);
    // A transposed view (strides 1, 2) gathers the values in the view's order.
    expect(Array.from(torchStateDict(readTorchCheckpoint(checkpoint([1, 2]))).get('w')!.data)).toEqual([0, 2, 4, 1, 3, 5]);
  });

  it('refuses a pickle that names anything outside the allow-list, and runs nothing', () => {
    const evil = (data: Uint8Array) => zipSync({ 'ck/data.pkl': data });
    const system = pickle('\x80\x02', 'cos\nsystem\n', str('touch /tmp/saccade-pwned'), '\x85', 'R', '.');
    expect(() => readTorchCheckpoint(evil(system), 'evil.pth')).toThrow(UnsafeCheckpointError);
    expect(() => readTorchCheckpoint(evil(system), 'evil.pth')).toThrow(/evil\.pth: refused the global os\.system/);
    const stackGlobal = pickle('\x80\x04', '\x8c', 8, 'builtins', '\x8c', 4, 'eval', '\x93', str('1+1'), '\x85', 'R', '.');
    expect(() => readTorchCheckpoint(evil(stackGlobal))).toThrow(/refused the global builtins\.eval/);
    // INST builds an object of any class: not an opcode this reader runs.
    const inst = pickle('\x80\x02', '(', 'ios\nsystem\n', '.');
    expect(() => readTorchCheckpoint(evil(inst))).toThrow(/refused the pickle instruction 0x69/);
    // A storage type is allowed as a name but cannot be called.
    const callStorage = pickle('\x80\x02', 'ctorch\nFloatStorage\n', ')', 'R', '.');
    expect(() => readTorchCheckpoint(evil(callStorage))).toThrow(/refused a call of something that is not an allowed global/);
  });

  it('says what is wrong with files that are not checkpoints', () => {
    expect(() => readTorchCheckpoint(enc.encode('hello'), 'x.pth')).toThrow(WeightFormatError);
    expect(() => readTorchCheckpoint(Uint8Array.of(0x80, 0x02, 0x8a), 'old.pth')).toThrow(/legacy \(pre-1\.6\) torch format/);
    expect(() => readTorchCheckpoint(zipSync({ 'a/b.txt': enc.encode('x') }), 'z.pth')).toThrow(/holds no NAME\/data\.pkl/);
    const truncated = checkpoint([3, 1]);
    expect(() => readTorchCheckpoint(truncated.subarray(0, truncated.length - 30), 't.pth')).toThrow(WeightFormatError);
    const noStorage = zipSync({
      'ck/data.pkl': pickle('\x80\x02', '(', str('storage'), 'ctorch\nFloatStorage\n', str('9'), str('cpu'), 'K', 1, 't', 'Q', '.'),
    });
    expect(() => readTorchCheckpoint(noStorage, 'm.pth')).toThrow(/storage 9 \(ck\/data\/9\) is missing/);
    expect(() => torchStateDict(new Map([['epoch', 3]]), 'e.pth')).toThrow(/holds no dict of tensors|holds no tensors/);
  });
});
