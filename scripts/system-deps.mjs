// The system packages the tests use, installed by the README's test command itself (so that a
// fresh machine with only Node.js and npm passes `npm test`): Debian's chromium (the SDK's browser
// test drives it with playwright-core), dataset-fashion-mnist (the full Fashion-MNIST set, read
// by the video package's tests and preferred by the benchmark builder), python3-torch (the
// official-checkpoint tests regenerate their PyTorch references at the papers' sizes) and
// redis-server (the queue's tests start their own on 127.0.0.1) with openssl (its TLS test makes
// a CA and a server certificate). As root with apt-get they
// are installed; anywhere else one message names what to install. Never downloads a browser build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const FASHION = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

const missing = [];
if (!existsSync(FASHION) && !process.env.FASHION_MNIST_DIR) missing.push('dataset-fashion-mnist');
if (!(process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH)) && !CHROMIUM.some((p) => existsSync(p))) missing.push('chromium');
if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) missing.push('python3-torch');
if (!existsSync(process.env.SACCADE_REDIS_SERVER ?? '/usr/bin/redis-server')) missing.push('redis-server');
if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) missing.push('openssl');

if (missing.length === 0) process.exit(0);

const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && hasAptGet) {
  console.error(`system-deps: installing Debian packages ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  process.exit(0);
}
// Not root (or not Debian): the tests that need them fail at once with one line each.
console.error(
  `system-deps: missing ${missing.join(' and ')}; install ${missing.map((m) => `Debian's ${m}`).join(' and ')} ` +
    '(sudo apt-get install ' +
    missing.join(' ') +
    '), or point CHROMIUM_PATH at a Chromium and FASHION_MNIST_DIR at the Fashion-MNIST IDX files. ' +
    'The tests that need them will fail.',
);
