/**
 * The `saccade` binary: commander wiring, output (text or --json on stdout; progress and errors
 * on stderr) and exit codes (errors.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import {
  addBundleHashes,
  clearFrameCache,
  configFields,
  defaultWorkers,
  exportBundleOnnx,
  frameCacheDir,
  methodVariants,
  parseConfig,
  trainingStages,
} from '@saccade/sdk';
import { Command, CommanderError, Option } from 'commander';

import { reportText, runBench } from './bench.js';
import {
  bundlePath,
  calibrateCommand,
  classifyCommand,
  type ClassifyEntry,
  dataCommand,
  type DataSource,
  ENGINE_CHOICES,
  evalCommand,
  infoCommand,
  type InfoSummary,
  importCommand,
  methodConfig,
  methodNames,
  parseOverrides,
  pretrainCommand,
  speedCommand,
  trainCommand,
} from './commands.js';
import { runDemo } from './demo.js';
import { createCountProgress } from './progress.js';
import { queueStatusCommand, redisOf, submitCommand, workerCommand } from './queue.js';
import { describeError, escapeText, EXIT, exitCodeOf, UsageError } from './errors.js';

const verbose = process.argv.includes('--verbose');

function int(name: string, min = 0) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
}

function num(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
}

function fraction(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n >= 1) throw new UsageError(`${name} must be a fraction in [0, 1), got ${JSON.stringify(v)}`);
    return n;
  };
}

function list(name: string) {
  return (v: string) => v.split(',').map((x) => num(name)(x.trim()));
}

/** --engine of classify, eval and worker: a tfjs backend, or onnx. */
function engineOption(): Option {
  return new Option(
    '--engine <name>',
    'what computes: auto (the fastest tfjs backend that loads, or SACCADE_BACKEND), a tfjs backend, or onnx (ONNX Runtime, via the optional package onnxruntime-node); one named but missing is an error',
  ).choices([...ENGINE_CHOICES]);
}

const THREADS_OPTION = ['--threads <n>', "ONNX Runtime's threads with --engine onnx (default: the cores available)", int('--threads', 1)] as const;

function collect(v: string, previous: string[]): string[] {
  return [...previous, v];
}

/** A duration: seconds, or a number with s, m or h. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!m || !(Number(m[1]) > 0)) throw new UsageError(`--time-budget: expected a duration such as 90s, 45m or 2h, got "${value}"`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

/** Whether a JSON config file sets `field` (an unreadable one is reported where it is read). */
function configFileSets(file: string, field: string): boolean {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && field in parsed;
  } catch {
    return false;
  }
}

/** The options that name a dataset in the official layouts, beside --data (train, eval, speed, calibrate). */
const DATA_OPTIONS = {
  trainList: ['--train-list <file>', 'the training list file, anywhere (comma or space format; its paths are under --data)'],
  valList: ['--val-list <file>', 'the validation list file, anywhere (comma or space format; its paths are under --data)'],
  classes: ['--classes <file|n>', "a class file (classInd.txt or category.txt) or the number of classes; default --data's classInd.txt"],
} as const;

/** The dataset named by --data and the list options. */
function dataSource(o: { data: string; trainList?: string; valList?: string; classes?: string }): DataSource {
  if (!o.trainList && !o.valList && o.classes === undefined) return o.data;
  const n = o.classes !== undefined && /^\d+$/.test(o.classes) ? Number(o.classes) : undefined;
  return {
    root: o.data,
    ...(o.trainList ? { trainList: o.trainList } : {}),
    ...(o.valList ? { valList: o.valList } : {}),
    ...(o.classes !== undefined ? { classes: n ?? o.classes } : {}),
  };
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** This CLI's version (its package.json, beside dist/). */
function ownVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** `saccade info` as text: one line per thing. */
function infoText(r: InfoSummary): string {
  const binary = (b: InfoSummary['ffmpeg'], which: 'ffmpeg' | 'ffprobe') =>
    'error' in b ? `not found (${b.error})` : `${b[which].path} (${b[which].source}; ${b[which].version})`;
  return [
    `saccade ${r.saccade} on Node ${r.node}, ${r.platform}`,
    `backend: ${r.backend.name} (${r.backend.package}; ${r.backend.reason})`,
    `ffmpeg: ${binary(r.ffmpeg, 'ffmpeg')}`,
    `ffprobe: ${binary(r.ffmpeg, 'ffprobe')}`,
    `Fashion-MNIST: ${'error' in r.fashionMnist ? `not found (${r.fashionMnist.error})` : `${r.fashionMnist.dir} (${r.fashionMnist.source})`}`,
    `frame cache: ${r.frameCache.enabled ? r.frameCache.dir : `off (SACCADE_CACHE=${process.env.SACCADE_CACHE})`}`,
  ]
    .map(escapeText)
    .join('\n');
}

/** One file's lines of `saccade classify`; names from the command line or the bundle are escaped. */
function classifyText(r: ClassifyEntry): string {
  const file = escapeText(r.file);
  if (!r.ok) return `${file}: error ${r.error.code}: ${escapeText(r.error.message)}`;
  return [
    `${file}: ${escapeText(r.label)} (${pct(r.probability)}), stopped at step ${r.exitStep}/${r.steps}, ${r.gflops.toFixed(3)} GFLOPs, ${r.timingsMs.total.toFixed(0)} ms${r.repeatedFrames > 0 ? `; the video has fewer frames than the model's ${r.steps}: ${r.repeatedFrames} repeated` : ''}`,
    `  top-${r.topK.length}: ${r.topK.map((t) => `${escapeText(t.label)} ${pct(t.probability)}`).join(', ')}`,
    ...(r.patches.length === 0
      ? []
      : r.frame && r.patches.every((p) => p.source)
        ? [
            `  patches in the ${r.frame.source.width}x${r.frame.source.height} source (${r.frame.fit} to ${r.frame.output.width}), frame: top-left x,y size: ${r.patches
              .map((p) => `${p.frame}: ${p.source!.x.toFixed(0)},${p.source!.y.toFixed(0)} ${p.source!.width.toFixed(0)}x${p.source!.height.toFixed(0)}`)
              .join('  ')}`,
          ]
        : r.patches.every((p, k) => p.frame === k)
          ? [`  patches (${r.patches[0]!.size} px, centre y,x): ${r.patches.map((p) => `${p.y.toFixed(0)},${p.x.toFixed(0)}`).join(' ')}`]
          : [
              `  patches (${r.patches[0]!.size} px, frame:centre y,x${r.patches[0]!.height !== undefined ? ' box height x width' : ''}): ${r.patches
                .map((p) => `${p.frame}:${p.y.toFixed(0)},${p.x.toFixed(0)}${p.height !== undefined ? ` ${p.height.toFixed(0)}x${p.width!.toFixed(0)}` : ''}`)
                .join(' ')}`,
            ]),
    ...(r.visualization ? [`  visualization: ${escapeText(r.visualization)}`] : []),
  ].join('\n');
}

/** SIGINT -> an AbortSignal (the run saves a checkpoint and exits 130); a second Ctrl-C kills. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted: finishing the current step and saving a checkpoint (Ctrl-C again to kill)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(EXIT.interrupted));
  });
  return controller.signal;
}

export function buildProgram(): Command {
  const program = new Command('saccade')
    .description('Efficient video recognition (AdaFocus) on TensorFlow.js: data, training, evaluation, early exit, classification')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .version(ownVersion(), '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const data = program.command('data').description('build data sets');
  data
    .command('moving-fashion')
    .description('build the Moving Fashion-MNIST benchmark: real mp4 videos, classInd.txt and AdaFocus-format lists')
    .requiredOption('--out <dir>', 'output folder (replaced atomically when complete)')
    .option('--train <n>', 'training videos', int('--train', 1), 1200)
    .option('--val <n>', 'validation videos (at 1,000 the standard error of an accuracy near 70% is 1.4 points; 2.6 at 300)', int('--val', 1), 1000)
    .option('--frames <n>', 'frames per video', int('--frames', 1), 16)
    .option('--size <px>', 'frame side', int('--size', 16), 128)
    .option('--item-size <px>', 'side of the moving item', int('--item-size', 4), 40)
    .option('--hidden <fraction>', 'temporal redundancy: fraction of frames in one stretch where the item is hidden', fraction('--hidden'), 0)
    .option(
      '--reveal <fraction>',
      'evidence that accumulates: the fraction of the item shown per frame (a new random choice of its 4 x 4 blocks in every frame)',
      num('--reveal'),
    )
    .option('--seed <n>', 'seed (same seed, same bytes)', int('--seed'), 0)
    .option('--source <dir>', "Fashion-MNIST IDX folder (default: $FASHION_MNIST_DIR, Debian's dataset-fashion-mnist, else the shipped sample)")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  saccade data moving-fashion --out data/mfm\n  saccade data moving-fashion --out data/small --train 60 --val 30 --seed 3\n  saccade data moving-fashion --out data/mfm-hidden --hidden 0.5\n  saccade data moving-fashion --out data/mfm-temporal --reveal 0.25',
    )
    .action(async (o) => {
      const r = await dataCommand({
        out: o.out,
        train: o.train,
        val: o.val,
        frames: o.frames,
        size: o.size,
        itemSize: o.itemSize,
        hidden: o.hidden,
        ...(o.reveal !== undefined ? { reveal: o.reveal } : {}),
        seed: o.seed,
        ...(o.source ? { source: o.source } : {}),
        quiet: false,
      });
      print(o.json, r, () => `built ${r.videos} videos of ${r.classes.length} classes in ${r.root} (Fashion-MNIST from ${r.source})`);
    });

  program
    .command('train')
    .description('train AdaFocus (V2, V1, V3) or a baseline; writes RUN/checkpoint.bin, RUN/metrics.jsonl, RUN/model (the bundle)')
    .requiredOption(
      '--data <dir>',
      'dataset folder (classInd.txt, train_list.txt, val_list.txt), or the root of the videos that --train-list and --val-list name',
    )
    .requiredOption('--out <run>', 'run folder')
    .option(...DATA_OPTIONS.trainList)
    .option(...DATA_OPTIONS.valList)
    .option(...DATA_OPTIONS.classes)
    .addOption(
      new Option(
        '--method <name>',
        methodVariants()
          .map((m) => `${m.name}: ${m.label}`)
          .join('; '),
      )
        .choices(methodNames())
        .default('v2'),
    )
    .option('--stage <n>', 'v1: train through stage 1, 2 or 3 (default 3, all); a later call with --resume and a higher --stage goes on', int('--stage', 1))
    .option('--config <file>', 'JSON config file (flags override it)')
    .option('--epochs <n>', 'train exactly this many epochs (default: until the validation accuracy stops improving; see --patience)', int('--epochs', 1))
    .option('--fixed', "train the config's epochs as given (as saccade bench and demo do), not until a plateau")
    .option(
      '--patience <n>',
      'without a fixed --epochs: stop after this many epochs without a better validation accuracy, keeping the best',
      int('--patience', 1),
      3,
    )
    .option('--max-epochs <n>', 'without a fixed --epochs: the most epochs it trains (the learning-rate schedule spans them)', int('--max-epochs', 1), 30)
    .option('--time-budget <duration>', 'without a fixed --epochs: stop after the epoch that passes this much training time (90s, 45m, 2h)', duration)
    .option(
      '--min-delta <x>',
      'without a fixed --epochs: a better validation accuracy must beat the best by more than this (0.01 = one point)',
      num('--min-delta'),
    )
    .option(
      '--workers <n>',
      'threads that compute each step (data parallel: each has its own tfjs backend and replica of the network; gradients joined in a fixed order, so a seed and a worker count give the same weights); default: the cores available',
      int('--workers', 1),
    )
    .option('--batch-size <n>', 'videos per step', int('--batch-size', 1))
    .option('--lr <x>', 'base learning rate', num('--lr'))
    .option('--seed <n>', 'seed of weights, data order and patches', int('--seed'))
    .option('--set <key=value>', 'any config field (repeatable), e.g. --set patchSize=64', collect, [])
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option(
      '--pretrained <dir>',
      'pretrained backbones from saccade pretrain (default: the ones shipped with the SDK; --set pretrained=false trains from scratch)',
    )
    .option('--label <text>', 'prefix of progress lines')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  saccade train --data data/mfm --out runs/v2\n  saccade train --data data/mfm --out runs/uniform --method uniform --epochs 4\n  saccade train --data data/mfm --out runs/v2 --resume\n  saccade train --data data/mfm --out runs/v1 --method v1 --stage 1   (then --stage 2 --resume, --stage 3 --resume)\n  saccade train --data data/mfm-hidden --out runs/v3 --method v3 --set focusFrames=6',
    )
    .action(async (o, command: Command) => {
      const flags: Record<string, unknown> = { ...parseOverrides(o.set) };
      if (o.epochs !== undefined) flags['epochs'] = o.epochs;
      // A number of epochs fixed anywhere (--epochs, --set epochs=N, the config file, --fixed for the
      // config's default) is trained as given; otherwise until the validation accuracy stops improving.
      const fixed = !!o.fixed || o.epochs !== undefined || 'epochs' in flags || (o.config !== undefined && configFileSets(o.config, 'epochs'));
      if (fixed && (o.timeBudget !== undefined || o.minDelta !== undefined || command.getOptionValueSource('maxEpochs') === 'cli'))
        throw new UsageError(
          '--max-epochs, --time-budget and --min-delta are for training until a plateau; the number of epochs is fixed here (--fixed, --epochs, --set epochs or the config file)',
        );
      if (!fixed && trainingStages(parseConfig({ ...methodConfig(o.method), ...flags })).length === 1) flags['epochs'] = o.maxEpochs;
      if (o.batchSize !== undefined) flags['batchSize'] = o.batchSize;
      if (o.lr !== undefined) flags['lr'] = o.lr;
      if (o.seed !== undefined) flags['seed'] = o.seed;
      if (o.stage !== undefined) {
        const method = String(methodConfig(o.method).method);
        if (!configFields(method).includes('stages')) throw new UsageError(`--stage is for methods that train in stages (v1), not ${o.method}`);
        if (o.stage > 3) throw new UsageError(`--stage ${o.stage}: AdaFocus V1 has stages 1, 2 and 3`);
        flags['stages'] = o.stage;
      }
      const r = await trainCommand({
        data: dataSource(o),
        out: o.out,
        method: o.method,
        ...(o.config ? { configFile: o.config } : {}),
        flags,
        resume: !!o.resume,
        quiet: !!o.quiet,
        ...(o.label ? { label: o.label } : {}),
        ...(o.pretrained ? { pretrainedDir: o.pretrained } : {}),
        workers: o.workers ?? defaultWorkers(),
        ...(fixed
          ? {}
          : {
              until: {
                patience: o.patience,
                ...(o.minDelta !== undefined ? { minDelta: o.minDelta } : {}),
                ...(o.timeBudget !== undefined ? { timeBudgetSeconds: o.timeBudget } : {}),
              },
            }),
        signal: interruptSignal(),
      });
      if (r.interrupted) {
        process.stderr.write(`checkpoint saved in ${r.run} after ${r.steps} steps; continue with --resume\n`);
        process.exitCode = EXIT.interrupted;
        return;
      }
      print(
        o.json,
        r,
        () =>
          `trained ${r.method}${r.method === 'adafocus_v2' && r.patches !== 'policy' ? ` (${r.patches} patches)` : ''}: val accuracy ${pct(r.valAccuracy)}, ${r.gflopsPerVideo.toFixed(3)} GFLOPs/video, ${r.trainSeconds.toFixed(0)} s` +
          (r.bestEpoch !== undefined
            ? `; the best of ${r.epochs} epochs is epoch ${r.bestEpoch}${r.stopped === 'plateau' ? ' (stopped: no better one since)' : r.stopped === 'timeBudget' ? ' (stopped: time budget spent)' : ''}`
            : '') +
          `; bundle ${r.bundle}`,
      );
    });

  program
    .command('eval')
    .description('evaluate a run or bundle on the validation split: accuracy, mAP, GFLOPs, videos/s, early-exit budget curve')
    .argument('<run>', 'run folder or bundle folder')
    .requiredOption('--data <dir>', 'dataset folder')
    .option(...DATA_OPTIONS.trainList)
    .option(...DATA_OPTIONS.valList)
    .option(...DATA_OPTIONS.classes)
    .option('--no-curve', 'skip the budget curve (it evaluates the training set for calibration)')
    .addOption(engineOption())
    .option(...THREADS_OPTION)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  saccade eval runs/v2 --data data/mfm\n  saccade eval runs/v2 --data data/mfm --engine onnx --json')
    .action(async (run, o) => {
      const r = await evalCommand({ run, data: dataSource(o), curve: o.curve, engine: o.engine, threads: o.threads });
      print(o.json, r, () =>
        [
          `${r.bundle} (${r.engine}): accuracy ${pct(r.accuracy)}, mAP ${pct(r.mAP)} on ${r.videos} videos; ${r.gflopsPerVideo.toFixed(3)} GFLOPs/video; ${r.videosPerSecond.toFixed(1)} videos/s`,
          ...(r.budgetCurve ?? []).map(
            (p) =>
              `  budget ${p.targetGflops?.toFixed(3) ?? `p=${p.p}`}: ${p.meanGflops.toFixed(3)} GFLOPs, ${pct(p.accuracy)} (random exit at the same exit counts: ${pct(p.randomAccuracy)})`,
          ),
        ].join('\n'),
      );
    });

  program
    .command('speed')
    .description('videos/s of one or more runs or bundles on the same validation videos, timed in interleaved rounds in one process')
    .argument('<runs...>', 'run folders or bundle folders (one input size)')
    .requiredOption('--data <dir>', 'dataset folder (its first validation videos are the batch)')
    .option(...DATA_OPTIONS.valList)
    .option(...DATA_OPTIONS.classes)
    .option('--videos <n>', 'videos per batch', int('--videos', 1), 8)
    .option('--rounds <n>', 'timed rounds (after two warm-up rounds); the median round counts', int('--rounds', 1), 11)
    .option(
      '--engine <names>',
      `what computes, comma-separated to time each run on each: ${ENGINE_CHOICES.join(', ')} (one tfjs backend, and onnx beside it)`,
      (v: string) => v.split(',').map((x) => x.trim()),
    )
    .option(...THREADS_OPTION)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  saccade speed runs/v2 runs/uniform --data data/mfm\n  saccade speed runs/v2 --data data/mfm --engine wasm,onnx\n  saccade speed runs/v2 --data data/mfm --videos 16 --rounds 21 --json',
    )
    .action(async (runs, o) => {
      const r = await speedCommand({
        runs,
        data: dataSource(o),
        videos: o.videos,
        rounds: o.rounds,
        ...(o.engine ? { engines: o.engine } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
      });
      print(o.json, r, () =>
        [
          `${r.videos} videos a batch, median of ${r.rounds} interleaved rounds:`,
          ...r.bundles.map(
            (b) => `  ${b.bundle} (${b.method}, ${b.engine}): ${b.videosPerSecond.toFixed(1)} videos/s, ${b.gflopsPerVideo.toFixed(3)} GFLOPs/video`,
          ),
        ].join('\n'),
      );
    });

  program
    .command('calibrate')
    .description('calibrate early-exit thresholds on the training set and store them in the bundle')
    .argument('<run>', 'run folder or bundle folder')
    .requiredOption('--data <dir>', 'dataset folder')
    .option(...DATA_OPTIONS.trainList)
    .option(...DATA_OPTIONS.classes)
    .option('--budgets <gflops,...>', 'target mean GFLOPs per video', list('--budgets'))
    .option('--fractions <f,...>', 'targets as fractions of the full cost (default 0.25,0.4,0.5,0.67,0.8)', list('--fractions'))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  saccade calibrate runs/v2 --data data/mfm\n  saccade calibrate runs/v2 --data data/mfm --budgets 0.2,0.3')
    .action(async (run, o) => {
      const r = await calibrateCommand({
        run,
        data: dataSource(o),
        ...(o.budgets ? { budgets: o.budgets } : {}),
        ...(o.fractions ? { fractions: o.fractions } : {}),
      });
      print(o.json, r, () =>
        [
          `thresholds stored in ${r.bundle}/saccade.json:`,
          ...r.budgets.map((b) => `  budget ${b.targetGflops.toFixed(3)} GFLOPs: ${b.expectedGflops.toFixed(3)} on the training set`),
        ].join('\n'),
      );
    });

  program
    .command('classify')
    .description('classify video files: label, top-k, exit step, GFLOPs, patch centres; a file that fails gets one error line and the others go on')
    .argument('<run>', 'run folder or bundle folder')
    .argument('<files...>', 'video files')
    .option('--budget <gflops>', 'stop early under this mean-GFLOPs budget (needs `saccade calibrate`)', num('--budget'))
    .option('--top <k>', 'classes to list', int('--top', 1), 5)
    .addOption(
      new Option(
        '--fit <how>',
        "frames of another aspect: crop (shorter side, centre crop: the official validation transform), squash, letterbox (default: the model's own, as it was trained)",
      ).choices(['crop', 'squash', 'letterbox']),
    )
    .addOption(engineOption())
    .option(...THREADS_OPTION)
    .option(
      '--visualize <out>',
      'write the video (.mp4 or .gif) with each step the model ran: the frame it saw, its patch, the running label and the exit (one file)',
    )
    .option(
      '--json',
      'print the results as JSON: one entry per file, in order: {file, ok: true, ...result} or {file, ok: false, error: {code, message}}; patches[].source and frame give source pixels',
    )
    .addHelpText(
      'after',
      `\nExit status: 0 when every file was classified; ${EXIT.partial} when some failed and others did not (each failed file has its error line or entry); ${EXIT.input} when every file failed.\n\nExamples:\n  saccade classify runs/v2 clip.mp4\n  saccade classify runs/v2 clip.mp4 --engine onnx\n  saccade classify runs/v2 a.mp4 b.mp4 --budget 0.3 --json\n  saccade classify runs/v2 clip.mp4 --fit crop --visualize clip-saccade.mp4`,
    )
    .action(async (run, files, o) => {
      const rs = await classifyCommand({
        run,
        files,
        topK: o.top,
        ...(o.fit ? { fit: o.fit } : {}),
        ...(o.visualize ? { visualize: o.visualize } : {}),
        ...(o.budget !== undefined ? { budget: o.budget } : {}),
        ...(o.engine !== undefined ? { engine: o.engine } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
      });
      print(o.json, rs, () => rs.map(classifyText).join('\n'));
      const failed = rs.filter((r) => !r.ok).length;
      if (failed > 0) process.exitCode = failed === rs.length ? EXIT.input : EXIT.partial;
    });

  program
    .command('bench')
    .description('train AdaFocusV2 and the baselines on one dataset and write report.md, report.json and accuracy-vs-gflops.svg, all measured in the same run')
    .option('--out <dir>', 'output folder', 'runs/bench')
    .option('--data <dir>', 'dataset folder (built in OUT/data if missing)')
    .option('--quick', 'a smaller run: 1 seed, fewer videos and epochs')
    .option('--seeds <n>', 'seeds of every method (AdaFocus and the baselines alike)', int('--seeds', 1))
    .option('--parallel <n>', 'training runs at a time (one core each)', int('--parallel', 1), 2)
    .option(
      '--methods <list>',
      `comma-separated subset of ${methodVariants()
        .map((m) => m.name)
        .join(',')} (default: v2,random,centre,uniform,glance)`,
    )
    .option(
      '--hidden <fraction>',
      'when building the data: hide the item for this fraction of every video (temporal redundancy, for Uni-AdaFocus)',
      num('--hidden'),
    )
    .option('--reveal <fraction>', 'when building the data: show this fraction of the item per frame, so evidence accumulates over frames', num('--reveal'))
    .option('--set <key=value>', 'config field for every run (repeatable)', collect, [])
    .option(
      '--speed-runs <n>',
      'child processes that time every model in turn; videos/s is the median over them (default: 3, --quick 1)',
      int('--speed-runs', 1),
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  saccade bench --quick\n  saccade bench --out runs/bench --seeds 3 --methods v2,v1,random,centre,uniform,glance\n  saccade bench --out runs/bench-hidden --hidden 0.5 --methods v2,uni',
    )
    .action(async (o) => {
      const quick = !!o.quick;
      const flags = { ...(quick ? { epochs: 2 } : {}), ...parseOverrides(o.set) };
      const methods = o.methods ? String(o.methods).split(',') : ['v2', 'random', 'centre', 'uniform', 'glance'];
      const unknown = methods.find((m) => !methodNames().includes(m));
      if (unknown) throw new UsageError(`--methods: ${unknown} is not one of ${methodNames().join(', ')}`);
      if (o.hidden !== undefined && !(o.hidden < 1)) throw new UsageError(`--hidden must be a fraction below 1, got ${o.hidden}`);
      const r = await runBench({
        ...(o.hidden !== undefined ? { hidden: o.hidden } : {}),
        ...(o.reveal !== undefined ? { reveal: o.reveal } : {}),
        out: o.out,
        ...(o.data ? { data: o.data } : {}),
        trainVideos: quick ? 240 : 1200,
        valVideos: quick ? 100 : 1000,
        seeds: o.seeds ?? (quick ? 1 : 3),
        speedRuns: o.speedRuns ?? (quick ? 1 : 3),
        parallel: o.parallel,
        flags,
        methods,
        signal: interruptSignal(),
      });
      print(o.json, r, () => `${reportText(r)}\n\nreport: ${resolve(o.out, 'report.md')}`);
    });

  program
    .command('demo')
    .description(
      'the README quickstart: build a small benchmark from the bundled Fashion-MNIST sample, train AdaFocusV2 and the random, centre and glance baselines, calibrate early exit, evaluate, classify one video, print the table',
    )
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--json', 'print the report as JSON')
    .action(async (o) => {
      const r = await runDemo({ out: o.out, signal: interruptSignal() });
      print(o.json, r, () => r.text);
    });

  program
    .command('pretrain')
    .description(
      "pretrain the glance and focus backbones on still Fashion-MNIST frames (the SDK ships the default's result; this remakes it or makes weights for another architecture)",
    )
    .requiredOption('--out <dir>', 'output folder (glance/, focus/, pretrained.json); train from it with saccade train --pretrained DIR')
    .option('--config <file>', 'JSON config file: the backbones, widths, sizes and normalisation to pretrain (flags override it)')
    .option('--set <key=value>', 'any config field (repeatable)', collect, [])
    .option('--images <n>', 'training images per epoch (default: all 60,000)', int('--images', 1))
    .option('--epochs <n>', 'epochs', int('--epochs', 1))
    .option('--seed <n>', 'seed', int('--seed'))
    .option('--source <dir>', "Fashion-MNIST IDX folder (default: $FASHION_MNIST_DIR, Debian's dataset-fashion-mnist, else the shipped sample)")
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  saccade pretrain --out runs/pretrained\n  saccade pretrain --out runs/pre-small --images 6000 --set focusWidth=0.25')
    .action(async (o) => {
      const r = await pretrainCommand({
        out: o.out,
        ...(o.config ? { configFile: o.config } : {}),
        flags: parseOverrides(o.set),
        ...(o.images !== undefined ? { images: o.images } : {}),
        ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.source ? { source: o.source } : {}),
        quiet: false,
        signal: interruptSignal(),
      });
      print(
        o.json,
        r,
        () => `pretrained backbones in ${r.out}: glance ${pct(r.glanceAccuracy)}, focus ${pct(r.focusAccuracy)} on held-out images, ${r.seconds.toFixed(0)} s`,
      );
    });

  program
    .command('import')
    .description(
      "a checkpoint trained with a paper's official code as a Saccade bundle (AdaFocus V1: blackfeather-wang/AdaFocus, ActivityNet/FCVID/Mini-Kinetics, and its Something-Something TSM model as adafocus_v1_tsm; AdaFocusV2: LeapLabTHU/AdaFocusV2; Uni-AdaFocus: LeapLabTHU/Uni-AdaFocus, ActivityNet/FCVID/Mini-Kinetics); nothing in the file is executed",
    )
    .argument('<checkpoint>', 'the .pth / .pth.tar file torch.save wrote (zip format)')
    .requiredOption('--out <bundle>', 'bundle folder to write')
    .option('--method <name>', 'the method of the checkpoint: v1, v2 or uni (Uni-AdaFocus)', 'v2')
    .option('--patch-size <n>', 'the patch size it was trained with (its --patch_size; a state dict cannot tell)', int('--patch-size', 1))
    .option('--frame-size <n>', 'the frame size it was trained with (its --input_size)', int('--frame-size', 1), 224)
    .option(
      '--frames <n>',
      'V1: frames per video (its num_segments, default 16; the Something-Something model: num_segments_focuser, default 12); Uni-AdaFocus: its num_segments (default 48); a state dict cannot tell',
      int('--frames', 1),
    )
    .option('--glance-size <n>', "V1 Something-Something: the glance's frame side (its glance_size; default the frame size)", int('--glance-size', 1))
    .option('--shift-div <n>', "V1 Something-Something: TSM's shift_div (default 8, as every official config)", int('--shift-div', 1))
    .option('--side-min <px>', "Uni-AdaFocus: the smallest box side (the official code's 96)", num('--side-min'))
    .option('--side-max <px>', "Uni-AdaFocus: the largest box side (the official code's 224)", num('--side-max'))
    .option('--classes <file>', 'class names: one per line, or classInd.txt ("1 name" lines); default class_0, class_1, ...')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  saccade import uni_actnet_p128.pth.tar --method uni --out models/actnet-uni --patch-size 128 --frames 48\n  saccade import actnet_v2_p128.pth.tar --out models/actnet --patch-size 128 --classes classInd.txt\n  saccade import 128s3_checkpoint.pth.tar --method v1 --out models/actnet-v1 --patch-size 128\n  saccade import sthv1_checkpoint.pth.tar --method v1 --out models/sth-v1 --patch-size 128 --frames 12',
    )
    .action(async (checkpoint: string, o) => {
      const r = await importCommand({
        checkpoint,
        out: o.out,
        method: o.method,
        frameSize: o.frameSize,
        ...(o.frames !== undefined ? { frames: o.frames } : {}),
        ...(o.glanceSize !== undefined ? { glanceSize: o.glanceSize } : {}),
        ...(o.shiftDiv !== undefined ? { shiftDiv: o.shiftDiv } : {}),
        ...(o.sideMin !== undefined ? { sideMin: o.sideMin } : {}),
        ...(o.sideMax !== undefined ? { sideMax: o.sideMax } : {}),
        ...(o.patchSize !== undefined ? { patchSize: o.patchSize } : {}),
        ...(o.classes ? { classes: o.classes } : {}),
      });
      print(o.json, r, () =>
        [
          `imported ${escapeText(r.checkpoint)} as ${r.method}: ${r.classes} classes, ${r.frames} frames of ${r.frameSize} px, ${r.patchSize} px patches, ${r.gflopsPerVideo.toFixed(3)} GFLOPs/video`,
          `bundle ${escapeText(r.bundle)}; left out: ${r.ignored.length} entries (BN counters; V2: the backbones' ImageNet heads; V1: the PPO learner's copy of the policy; Something-Something: the focus ResNet's unused ImageNet head; Uni-AdaFocus: the backbones' ImageNet heads)`,
        ].join('\n'),
      );
    });

  program
    .command('worker')
    .description("classify videos from a Redis job queue (BullMQ) until SIGTERM, which finishes the job in hand; the model's jobs only")
    .argument('<bundle>', 'run folder or bundle folder (the same bundle `saccade submit` names)')
    .requiredOption('--redis <url>', 'redis://host:port (rediss:// for TLS); a password in SACCADE_REDIS_PASSWORD')
    .option('--root <dir>', 'a folder the jobs may read videos from (repeatable; anything outside is refused)', collect, [])
    .option(
      '--allow-url <prefix>',
      'an http(s) URL prefix whose videos URL jobs may fetch (repeatable; redirects are held to it too; without one, URL jobs are refused)',
      collect,
      [],
    )
    .option('--max-download-mb <mb>', "a URL job's largest video", int('--max-download-mb', 1), 2048)
    .addOption(engineOption())
    .option(...THREADS_OPTION)
    .option('--concurrency <n>', 'videos in hand at once', int('--concurrency', 1), 1)
    .option('--top-k <k>', 'classes in each result', int('--top-k', 1), 5)
    .option('--budget <gflops>', 'average GFLOPs per video (the bundle needs calibrated exits)', num('--budget'))
    .option('--name <name>', 'this worker in `saccade queue status` (default host:pid)')
    .option(
      '--lock-ms <ms>',
      "a job's lease: a worker that died (kill -9, power) has its job taken by another after about this long",
      int('--lock-ms', 1000),
      30000,
    )
    .option('--tls-ca <file>', 'a CA certificate for rediss://')
    .addHelpText(
      'after',
      '\nExample (on each machine, the videos on storage every machine mounts):\n  saccade worker models/actnet --redis redis://10.0.0.5:6379 --root /data/videos\nOr from a web server:\n  saccade worker models/actnet --redis redis://10.0.0.5:6379 --allow-url https://media.example/videos/',
    )
    .action(async (run: string, o) => {
      await workerCommand({
        run,
        redis: await redisOf(o.redis, o.tlsCa),
        roots: o.root,
        allowUrls: o.allowUrl,
        maxDownloadBytes: o.maxDownloadMb * 2 ** 20,
        ...(o.engine !== undefined ? { engine: o.engine } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        concurrency: o.concurrency,
        topK: o.topK,
        ...(o.budget !== undefined ? { budget: o.budget } : {}),
        ...(o.name ? { name: o.name } : {}),
        lockMs: o.lockMs,
        log: (line) => process.stderr.write(`${escapeText(line)}\n`),
      });
    });

  program
    .command('submit')
    .description('enqueue videos for `saccade worker`s; a video already submitted for the model is not classified again')
    .argument('<bundle>', 'run folder or bundle folder: the model the videos are for')
    .argument('[files...]', 'video files (paths the workers can read) or http(s) URLs (for workers started with --allow-url)')
    .requiredOption('--redis <url>', 'redis://host:port (rediss:// for TLS); a password in SACCADE_REDIS_PASSWORD')
    .option('--list <file>', 'a file of video paths or URLs, one per line')
    .option('--dir <dir>', 'every video under a folder')
    .option('--wait', 'wait for the results (JSONL: {file, ok, ...result} or {file, ok: false, error})')
    .option('--out <file>', 'with --wait: write the results there (atomically) instead of stdout')
    .option('--quiet', 'no progress on stderr')
    .option('--tls-ca <file>', 'a CA certificate for rediss://')
    .option('--json', 'print the summary as JSON')
    .action(async (run: string, files: string[], o) => {
      const progress = createCountProgress({ label: 'submit', quiet: Boolean(o.quiet) });
      const r = await submitCommand({
        run,
        redis: await redisOf(o.redis, o.tlsCa),
        files,
        ...(o.list ? { list: o.list } : {}),
        ...(o.dir ? { dir: o.dir } : {}),
        wait: Boolean(o.wait),
        ...(o.out ? { out: o.out } : {}),
        progress: (done, total, what) => progress.update(done, total, what),
        print: (line) => process.stdout.write(`${line}\n`),
      }).finally(() => progress.stop());
      if (o.json || !o.wait || o.out)
        print(o.json, r, () =>
          [
            `${r.submitted} videos on queue ${r.queue} (model ${r.model})${r.skipped.length > 0 ? `; ${r.skipped.length} skipped: ${r.skipped.map((x) => `${escapeText(x.file)} (${escapeText(x.error)})`).join(', ')}` : ''}`,
            ...(r.results ? [`${r.results.ok} classified, ${r.results.failed} failed${r.results.out ? `; results in ${escapeText(r.results.out)}` : ''}`] : []),
          ].join('\n'),
        );
      if (r.results && (r.results.failed > 0 || r.skipped.length > 0)) process.exitCode = EXIT.partial;
    });

  program
    .command('queue')
    .description('the job queue of a model')
    .command('status')
    .description('jobs waiting, active, retrying, done and failed, and videos/s per worker over the last minute')
    .argument('<bundle>', 'run folder or bundle folder')
    .requiredOption('--redis <url>', 'redis://host:port')
    .option('--tls-ca <file>', 'a CA certificate for rediss://')
    .option('--json', 'print as JSON')
    .action(async (run: string, o) => {
      const r = await queueStatusCommand({ run, redis: await redisOf(o.redis, o.tlsCa) });
      print(o.json, r, () =>
        [
          `queue ${r.queue}: ${r.waiting} waiting, ${r.active} active, ${r.delayed} retrying, ${r.completed} done, ${r.failed} failed`,
          ...r.workers.map((w) => `  ${escapeText(w.name)}: ${w.videosPerSecond.toFixed(2)} videos/s`),
        ].join('\n'),
      );
    });

  const bundle = program.command('bundle').description('model bundle maintenance');
  bundle
    .command('hash')
    .description("record every weight shard's size and SHA-256 in saccade.json (bundles written before they were recorded load with a warning until then)")
    .argument('<bundles...>', 'run folders or bundle folders')
    .option('--json', 'print the result as JSON')
    .action(async (runs: string[], o) => {
      const rs: Awaited<ReturnType<typeof addBundleHashes>>[] = [];
      for (const run of runs) rs.push(await addBundleHashes(bundlePath(run)));
      print(o.json, rs, () => rs.map((r) => `${escapeText(r.bundle)}: ${r.shards} shards ${r.added ? 'hashed' : 're-hashed'}`).join('\n'));
    });

  bundle
    .command('onnx')
    .description(
      'write every sub-network of a bundle as an ONNX file (and each GRU as one ONNX GRU operator), with onnx.json saying which is what, for ONNX Runtime elsewhere',
    )
    .argument('<bundle>', 'run folder or bundle folder')
    .requiredOption('--out <dir>', 'the folder to write (replaced atomically)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  saccade bundle onnx runs/v2 --out runs/v2/onnx')
    .action(async (run: string, o) => {
      const r = await exportBundleOnnx(bundlePath(run), resolve(o.out));
      print(o.json, r, () =>
        [
          `${escapeText(r.out)}:`,
          ...r.files.map((f) => `  ${f.file} (${f.kind === 'gru' ? `${f.part}'s GRU` : f.part}, ${(f.bytes / 2 ** 20).toFixed(1)} MiB)`),
        ].join('\n'),
      );
    });

  const cache = program
    .command('cache')
    .description(`the decoded-frame cache (default ${frameCacheDir()}; SACCADE_CACHE_DIR moves it, SACCADE_CACHE=0 turns it off)`);
  cache
    .command('clear')
    .description('remove every cached decoded dataset')
    .option('--json', 'print the result as JSON')
    .action(async (o) => {
      const r = await clearFrameCache();
      print(o.json, r, () => `removed ${r.files} cached datasets (${(r.bytes / 2 ** 20).toFixed(1)} MiB) from ${escapeText(r.dir)}`);
    });

  program
    .command('info')
    .description('backend in use and why, ffmpeg in use, Fashion-MNIST location, the frame cache, versions')
    .option('--json', 'print as JSON')
    .action(async (o) => {
      const r = await infoCommand();
      print(o.json, r, () => infoText(r));
    });
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    process.stderr.write(`${describeError(error, verbose)}\n`);
    return exitCodeOf(error);
  }
}
