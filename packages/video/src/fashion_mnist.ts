/** Locating and reading Fashion-MNIST: the standard four IDX files, gzipped or not. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DatasetFileError } from './errors.js';
import { readIdx } from './idx.js';

export const FASHION_MNIST_CLASSES = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle_boot'] as const;

/** Debian's dataset-fashion-mnist package. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** The sample shipped in this package (3,000 training and 1,000 test images, MIT licence). */
export const SHIPPED_FASHION_MNIST_SAMPLE = fileURLToPath(new URL('../data/fashion-mnist-sample', import.meta.url));

export interface FashionMnistSplit {
  /** N x 28 x 28 grey images. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface FashionMnist {
  dir: string;
  /** Which copy: the path given, $FASHION_MNIST_DIR, Debian's package, or the shipped sample. */
  source: 'option' | 'env' | 'debian' | 'sample';
  train: FashionMnistSplit;
  test: FashionMnistSplit;
}

function fileIn(dir: string, stem: string): string | undefined {
  for (const name of [`${stem}.gz`, stem]) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** Where Fashion-MNIST is: an explicit folder, $FASHION_MNIST_DIR, Debian's package, the shipped sample. */
export function locateFashionMnist(dir?: string): { dir: string; source: FashionMnist['source'] } {
  const candidates: [FashionMnist['source'], string | undefined][] = [
    ['option', dir],
    ['env', process.env.FASHION_MNIST_DIR],
    ['debian', DEBIAN_FASHION_MNIST],
    ['sample', SHIPPED_FASHION_MNIST_SAMPLE],
  ];
  for (const [source, d] of candidates) {
    if (!d) continue;
    if (fileIn(d, 'train-images-idx3-ubyte')) return { dir: d, source };
    if (source === 'option' || source === 'env') throw new DatasetFileError(d, 'has no train-images-idx3-ubyte(.gz)');
  }
  throw new DatasetFileError(SHIPPED_FASHION_MNIST_SAMPLE, 'Fashion-MNIST was not found anywhere (not even the shipped sample)');
}

async function split(dir: string, prefix: 'train' | 't10k'): Promise<FashionMnistSplit> {
  const imagesFile = fileIn(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = fileIn(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imagesFile || !labelsFile) throw new DatasetFileError(dir, `has no ${prefix}-images-idx3-ubyte(.gz) and ${prefix}-labels-idx1-ubyte(.gz)`);
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  if (images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28)
    throw new DatasetFileError(imagesFile, `holds [${images.shape}], not N x 28 x 28 images`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0])
    throw new DatasetFileError(labelsFile, `holds [${labels.shape}] labels for ${images.shape[0]} images`);
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new DatasetFileError(labelsFile, `label ${bad} is ${labels.data[bad]}, not a class 0..9`);
  return { images: images.data, labels: labels.data, count: images.shape[0]! };
}

export async function loadFashionMnist(dir?: string): Promise<FashionMnist> {
  const found = locateFashionMnist(dir);
  const [train, test] = await Promise.all([split(found.dir, 'train'), split(found.dir, 't10k')]);
  return { ...found, train, test };
}
