// Writes data/fashion-mnist-sample from a full Fashion-MNIST (default: Debian's package): the first
// 3,000 training and 1,000 test images with their labels, as gzipped IDX files. Run once; the
// output is committed so that the builder and the demo work without the Debian package.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const from = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const to = new URL('../data/fashion-mnist-sample/', import.meta.url).pathname;

function take(name, count) {
  const raw = gunzipSync(readFileSync(join(from, `${name}.gz`)));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims = raw[3];
  const header = Buffer.from(raw.subarray(0, 4 + 4 * dims));
  new DataView(header.buffer, header.byteOffset).setUint32(4, count, false);
  const per = Array.from({ length: dims - 1 }, (_, i) => view.getUint32(8 + 4 * i, false)).reduce((a, b) => a * b, 1);
  const body = raw.subarray(4 + 4 * dims, 4 + 4 * dims + count * per);
  writeFileSync(join(to, `${name}.gz`), gzipSync(Buffer.concat([header, body]), { level: 9 }));
}

take('train-images-idx3-ubyte', 3000);
take('train-labels-idx1-ubyte', 3000);
take('t10k-images-idx3-ubyte', 1000);
take('t10k-labels-idx1-ubyte', 1000);
