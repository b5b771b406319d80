/** The IDX format of MNIST and Fashion-MNIST (optionally gzipped). */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

import { DatasetFileError } from './errors.js';

export interface IdxArray {
  /** Dimensions, e.g. [60000, 28, 28] for images, [60000] for labels. */
  shape: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  let raw = bytes;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (error) {
      throw new DatasetFileError(file, `is gzipped but does not decompress (${(error as Error).message})`);
    }
  }
  if (raw.byteLength < 4 || raw[0] !== 0 || raw[1] !== 0) throw new DatasetFileError(file, 'is not an IDX file (bad magic number)');
  if (raw[2] !== 0x08) throw new DatasetFileError(file, `holds IDX type 0x${raw[2]!.toString(16)}, only unsigned bytes (0x08) are supported`);
  const dims = raw[3]!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.byteLength < 4 + 4 * dims) throw new DatasetFileError(file, 'is truncated inside its header');
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * dims;
  if (raw.byteLength < start + size)
    throw new DatasetFileError(file, `is truncated: the header promises ${size} bytes of data, the file has ${raw.byteLength - start}`);
  return { shape, data: raw.subarray(start, start + size) };
}

export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DatasetFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}
