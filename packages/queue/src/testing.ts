// @saccade/queue/testing: a real Redis for tests and local trials: Debian's redis-server (the
// README's test command installs it) on 127.0.0.1, on a free port, with a data folder of its own
// (append-only file on, so that a restart keeps the queue). No mock Redis anywhere.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env['SACCADE_REDIS_SERVER'] ?? '/usr/bin/redis-server';
export const HAS_REDIS = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** With `tls`: the CA certificate (PEM file) that signed the server's, for `rediss://` clients. */
  ca?: string;
  /** The running server's process id (for a benchmark's CPU accounting). */
  readonly pid: number | undefined;
  /** Stop (SIGTERM: it writes its data) and start again on the same port and folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`redis-server: ${what} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CA and a server certificate for 127.0.0.1, made with the openssl command (arguments, no shell). */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=saccade-test-ca');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.cnf');
}

/** Start a Redis; with `tls`, TLS only (rediss://, a CA of its own in `ca`). */
export async function startRedis(options: { tls?: boolean } = {}): Promise<TestRedis> {
  if (!HAS_REDIS) throw new Error(`${REDIS_SERVER} is missing: install Debian's redis-server (the README's test command does)`);
  const dir = await mkdtemp(join(tmpdir(), 'saccade-redis-'));
  const port = await freePort();
  if (options.tls) makeCertificates(dir);
  const listen = options.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        join(dir, 'server.crt'),
        '--tls-key-file',
        join(dir, 'server.key'),
        '--tls-ca-cert-file',
        join(dir, 'ca.crt'),
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  let proc: ChildProcess | undefined;
  let ready = false;
  const launch = async () => {
    ready = false;
    proc = spawn(REDIS_SERVER, [...listen, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept connections')) ready = true;
    });
    await until(() => ready, 'not ready');
  };
  const halt = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    dir,
    ...(options.tls ? { ca: join(dir, 'ca.crt') } : {}),
    get pid() {
      return proc?.pid;
    },
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
