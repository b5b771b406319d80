/**
 * ONNX Runtime behind a synchronous call. Saccade's networks call their sub-networks synchronously
 * inside tf.tidy (a step of early exit is one synchronous function), and onnxruntime-node's public
 * `InferenceSession.run` returns a promise. Two transports:
 *
 * - 'native' (the default where it is found): the sessions of onnxruntime-node's native binding
 *   (`dist/binding.js`, what its public class wraps) run synchronously on the calling thread: about
 *   12 µs of overhead a call here. It is the package's internal layer, so it is used only when it
 *   has the shape this code knows (the peer dependency is pinned to one version), else 'worker'.
 * - 'worker': the public API in a worker thread; a call posts its inputs and blocks on an Atomics
 *   flag until the worker answers (synckit's method, which needs the worker as a file on disk; this
 *   one is a few lines of source, so it runs from the TypeScript sources too): about 250 µs a call
 *   here, which matters for the small sub-networks of a small model.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

export type OnnxRuntimeErrorCode = 'ONNX_RUNTIME_MISSING' | 'ONNX_RUNTIME_FAILED' | 'ONNX_RUNTIME_CLOSED';

/** onnxruntime-node missing, a session that failed to load or run, or a runtime used after close. */
export class OnnxRuntimeError extends Error {
  override readonly name = 'OnnxRuntimeError';
  constructor(
    readonly code: OnnxRuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A float32 tensor as it crosses to ONNX Runtime: its values and dimensions. */
export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

export type OnnxTransport = 'native' | 'worker';

export interface OnnxRuntimeOptions {
  /** How calls reach ONNX Runtime (see the module's comment). Default: 'native' where onnxruntime-node's binding has the expected shape, else 'worker'. */
  transport?: OnnxTransport;
  /** ONNX Runtime's intra-op threads per session. Default: the cores available (`os.availableParallelism()`). */
  threads?: number;
  /**
   * Whether ONNX Runtime's threads spin between kernels. Default false: between one sub-network
   * and the next, Saccade computes in JavaScript (crops, the GRU), and spinning threads would take
   * the cores from it.
   */
  spinning?: boolean;
  /**
   * Where onnxruntime-node is resolved from (a file path; default this module): for a package
   * that brings its own copy.
   */
  resolveFrom?: string;
  /** The longest a call may take, in ms, before it is an error (a worker that died never answers). Default 600000. */
  timeoutMs?: number;
}

const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const ort = require(workerData.ort);
const { port, flags: shared, options } = workerData;
// flags[0]: an answer is ready (the main thread waits on it); flags[1]: a request is ready (this
// thread waits on it). Waiting on a flag, not on the port's messages, wakes each side directly.
const flags = new Int32Array(shared);
const sessions = new Map();
const answer = (reply, transfer) => {
  port.postMessage(reply, transfer);
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
};
async function handle(m) {
  if (m.op === 'load') {
    const session = await ort.InferenceSession.create(m.bytes, options);
    sessions.set(m.key, session);
    answer({ ok: true, inputs: session.inputNames, outputs: session.outputNames });
  } else if (m.op === 'run') {
    const session = sessions.get(m.key);
    if (!session) throw new Error('no session ' + m.key);
    const feeds = {};
    for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
    const out = await session.run(feeds);
    const outputs = {};
    const transfer = [];
    for (const name of session.outputNames) {
      const t = out[name];
      const data = new Float32Array(t.data);
      outputs[name] = { data, dims: Array.from(t.dims) };
      transfer.push(data.buffer);
    }
    answer({ ok: true, outputs }, transfer);
  } else if (m.op === 'release') {
    const session = sessions.get(m.key);
    sessions.delete(m.key);
    if (session) await session.release();
    answer({ ok: true });
  } else throw new Error('unknown op ' + m.op);
}
(async () => {
  for (;;) {
    Atomics.wait(flags, 1, 0);
    Atomics.store(flags, 1, 0);
    const received = receiveMessageOnPort(port);
    if (!received) continue;
    if (received.message.op === 'close') break;
    try {
      await handle(received.message);
    } catch (e) {
      answer({ ok: false, message: String((e && e.message) || e) });
    }
  }
  for (const s of sessions.values()) await s.release();
  port.close();
})();
`;

/** Where onnxruntime-node resolves from `from`, or an OnnxRuntimeError naming the package. */
function resolveOrt(from: string = import.meta.url): string {
  try {
    return createRequire(from).resolve('onnxruntime-node');
  } catch {
    throw new OnnxRuntimeError(
      'ONNX_RUNTIME_MISSING',
      'the ONNX engine needs the package onnxruntime-node (an optional peer dependency of @saccade/onnx): install it with ' +
        '`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.31.1` (its CPU library ships in the package; the variable skips the CUDA download)',
    );
  }
}

/** A loaded model: its input and output names, in the model's order. */
export interface OnnxSessionInfo {
  key: number;
  inputs: string[];
  outputs: string[];
}

interface SessionSettings {
  threads: number;
  spinning: boolean;
}

function sessionOptions(o: SessionSettings): Record<string, unknown> {
  return {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: o.spinning ? '1' : '0' } } },
  };
}

interface Transport {
  load(key: number, bytes: Uint8Array): { inputs: string[]; outputs: string[] };
  run(key: number, feeds: Record<string, FloatTensor>): Record<string, FloatTensor>;
  release(key: number): void;
  close(): void;
}

/** The shapes of onnxruntime-node's binding this code uses (dist/binding.d.ts of 1.31). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): Promise<void>;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
  run(
    feeds: Record<string, unknown>,
    fetches: Record<string, null>,
    options: Record<string, unknown>,
  ): Record<string, { data: unknown; dims: readonly number[] }>;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}
type TensorClass = new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;

/** The native binding next to onnxruntime-node's entry, if it has the expected shape. */
function nativeBinding(ortEntry: string): { native: NativeBinding; Tensor: TensorClass } | undefined {
  try {
    const req = createRequire(ortEntry);
    const native = req(join(dirname(ortEntry), 'binding.js')) as Partial<NativeBinding>;
    const Tensor = (req(ortEntry) as { Tensor?: TensorClass }).Tensor;
    if (typeof native.binding?.InferenceSession !== 'function' || typeof native.initOrt !== 'function' || typeof Tensor !== 'function') return undefined;
    return { native: native as NativeBinding, Tensor };
  } catch {
    return undefined;
  }
}

class NativeTransport implements Transport {
  private readonly sessions = new Map<number, NativeSession>();
  constructor(
    private readonly api: { native: NativeBinding; Tensor: TensorClass },
    private readonly settings: SessionSettings,
  ) {
    api.native.initOrt();
  }

  load(key: number, bytes: Uint8Array) {
    const session = new this.api.native.binding.InferenceSession();
    let reason = '';
    // A session without callbacks loads synchronously (the promise is settled on return); its
    // metadata is there exactly when it loaded.
    const settled = session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, sessionOptions(this.settings));
    settled.catch((e: unknown) => (reason = String((e as Error)?.message ?? e)));
    let inputs: string[] = [];
    let outputs: string[] = [];
    try {
      inputs = session.inputMetadata.map((m) => m.name);
      outputs = session.outputMetadata.map((m) => m.name);
    } catch {
      // not loaded
    }
    if (inputs.length === 0 || outputs.length === 0) {
      try {
        session.dispose();
      } catch {
        // a session that never loaded holds nothing
      }
      throw new OnnxRuntimeError(
        'ONNX_RUNTIME_FAILED',
        `ONNX Runtime did not load the model${reason ? `: ${reason}` : " (use transport 'worker' for its reason)"}`,
      );
    }
    this.sessions.set(key, session);
    return { inputs, outputs };
  }

  run(key: number, feeds: Record<string, FloatTensor>) {
    const session = this.sessions.get(key)!;
    const inputs: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new this.api.Tensor('float32', t.data, t.dims);
    const fetches = Object.fromEntries(session.outputMetadata.map((m) => [m.name, null]));
    let out: ReturnType<NativeSession['run']>;
    try {
      out = session.run(inputs, fetches, {});
    } catch (e) {
      throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', String((e as Error)?.message ?? e));
    }
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, { data: t.data as Float32Array, dims: [...t.dims] }]));
  }

  release(key: number) {
    this.sessions.get(key)?.dispose();
    this.sessions.delete(key);
  }

  close() {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
  }
}

class WorkerTransport implements Transport {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private failure?: string;

  constructor(
    ort: string,
    settings: SessionSettings,
    private readonly timeoutMs: number,
  ) {
    const shared = new SharedArrayBuffer(8);
    this.flag = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ort, port: port2, flags: shared, options: sessionOptions(settings) },
      transferList: [port2],
    });
    // Neither keeps the process alive: a model that is not disposed does not hang the exit.
    this.worker.unref();
    this.port.unref();
    this.worker.on('error', (e) => (this.failure = e.message));
    this.worker.on('exit', (code) => (this.failure ??= `the ONNX Runtime worker exited (code ${code})`));
  }

  private call<T>(message: Record<string, unknown>): T {
    if (this.failure) throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', this.failure);
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(message);
    Atomics.store(this.flag, 1, 1);
    Atomics.notify(this.flag, 1);
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.wait(this.flag, 0, 0, Math.min(1000, Math.max(1, deadline - Date.now()))) === 'timed-out') {
      if (Date.now() >= deadline)
        throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', `ONNX Runtime gave no answer in ${this.timeoutMs} ms (its worker may have died)`);
    }
    const received = receiveMessageOnPort(this.port);
    if (!received) throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', 'ONNX Runtime signalled an answer that is not there');
    const reply = received.message as { ok: boolean; message?: string } & T;
    if (!reply.ok) throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', reply.message ?? 'ONNX Runtime failed');
    return reply;
  }

  load(key: number, bytes: Uint8Array) {
    return this.call<{ inputs: string[]; outputs: string[] }>({ op: 'load', key, bytes });
  }

  run(key: number, feeds: Record<string, FloatTensor>) {
    return this.call<{ outputs: Record<string, FloatTensor> }>({ op: 'run', key, feeds }).outputs;
  }

  release(key: number) {
    this.call({ op: 'release', key });
  }

  close() {
    // The worker releases its sessions and ends; the port closes with it.
    this.port.postMessage({ op: 'close' });
    Atomics.store(this.flag, 1, 1);
    Atomics.notify(this.flag, 1);
  }
}

/**
 * ONNX Runtime sessions run synchronously (see the module's comment). `close()` releases them (and
 * ends the worker of the 'worker' transport).
 */
export class OnnxRuntime {
  readonly threads: number;
  readonly transport: OnnxTransport;
  /** onnxruntime-node's version (its package.json). */
  readonly version: string;
  private readonly impl: Transport;
  private readonly sessions = new Map<number, OnnxSessionInfo>();
  private nextKey = 1;
  private closed = false;

  constructor(options: OnnxRuntimeOptions = {}) {
    const ort = resolveOrt(options.resolveFrom);
    this.threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(this.threads) || this.threads < 1)
      throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', `threads must be a positive integer, got ${options.threads}`);
    const settings = { threads: this.threads, spinning: options.spinning ?? false };
    const native = options.transport === 'worker' ? undefined : nativeBinding(ort);
    if (options.transport === 'native' && !native)
      throw new OnnxRuntimeError(
        'ONNX_RUNTIME_FAILED',
        `onnxruntime-node at ${ort} has no native binding of the shape this code knows (1.31): use transport 'worker'`,
      );
    this.transport = native ? 'native' : 'worker';
    this.version = (createRequire(ort)(join(dirname(ort), '..', 'package.json')) as { version: string }).version;
    this.impl = native ? new NativeTransport(native, settings) : new WorkerTransport(ort, settings, options.timeoutMs ?? 600_000);
  }

  /** Sessions loaded and not released. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private open(): void {
    if (this.closed) throw new OnnxRuntimeError('ONNX_RUNTIME_CLOSED', 'this ONNX runtime was closed (its model was disposed)');
  }

  /** Load an ONNX model (its serialized bytes): a session of this runtime's threads. */
  load(bytes: Uint8Array): OnnxSessionInfo {
    this.open();
    const key = this.nextKey++;
    const { inputs, outputs } = this.impl.load(key, bytes);
    const info = { key, inputs, outputs };
    this.sessions.set(key, info);
    return info;
  }

  /** Run a session on float32 inputs by name: every output by name. */
  run(session: OnnxSessionInfo, feeds: Record<string, FloatTensor>): Record<string, FloatTensor> {
    this.open();
    if (!this.sessions.has(session.key)) throw new OnnxRuntimeError('ONNX_RUNTIME_FAILED', `session ${session.key} is not loaded in this runtime`);
    return this.impl.run(session.key, feeds);
  }

  /** Release one session. */
  release(session: OnnxSessionInfo): void {
    if (this.closed || !this.sessions.delete(session.key)) return;
    this.impl.release(session.key);
  }

  /** Release every session (and end the worker). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sessions.clear();
    this.impl.close();
  }
}
