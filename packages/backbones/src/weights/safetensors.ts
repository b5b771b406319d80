/**
 * The safetensors format (a little-endian u64 header length, a JSON header of
 * {name: {dtype, shape, data_offsets}}, then the raw little-endian data), read and written by
 * hand: it is 40 lines, and no maintained JavaScript package exists for it.
 */
import { WeightFormatError } from '../errors.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** float32 values (converted from F16/BF16/F64); integers as float32 too. */
  data: Float32Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): Map<string, SafetensorsEntry> {
  if (bytes.byteLength < 8) throw new WeightFormatError(source, `is ${bytes.byteLength} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength)
    throw new WeightFormatError(source, `header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes): truncated?`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new WeightFormatError(source, `header is not JSON (${(error as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const out = new Map<string, SafetensorsEntry>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new WeightFormatError(source, `tensor ${name} has unsupported dtype ${dtype}`);
    const d = dtype as SafetensorsDtype;
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * BYTES[d] || dataStart + end > bytes.byteLength) {
      throw new WeightFormatError(source, `tensor ${name} [${shape}] ${dtype} has data_offsets [${begin}, ${end}] that do not fit its size or the file`);
    }
    const data = new Float32Array(count);
    const base = dataStart + begin;
    for (let i = 0; i < count; i++) {
      const at = base + i * BYTES[d];
      switch (d) {
        case 'F32':
          data[i] = view.getFloat32(at, true);
          break;
        case 'F64':
          data[i] = view.getFloat64(at, true);
          break;
        case 'F16':
          data[i] = halfToFloat(view.getUint16(at, true));
          break;
        case 'BF16':
          data[i] = new Float32Array(new Uint32Array([view.getUint16(at, true) << 16]).buffer)[0]!;
          break;
        case 'I64':
          data[i] = Number(view.getBigInt64(at, true));
          break;
        case 'I32':
          data[i] = view.getInt32(at, true);
          break;
      }
    }
    out.set(name, { dtype: d, shape, data });
  }
  return out;
}

export function writeSafetensors(
  tensors: Map<string, { dtype: 'F32' | 'I64'; shape: number[]; data: ArrayLike<number> }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const name of names) {
    const t = tensors.get(name)!;
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === 'F32') view.setFloat32(at, t.data[i]!, true);
      else view.setBigInt64(at, BigInt(Math.round(t.data[i]!)), true);
      at += BYTES[t.dtype];
    }
  }
  return out;
}
