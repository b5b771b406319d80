/**
 * Progress for long commands: cli-progress bars (epochs and batches, with loss, accuracy and ETA)
 * on a terminal, plain lines otherwise (logs, CI, tests). Everything goes to stderr, so that
 * stdout carries only results (--json).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  epochStart(epoch: number, epochs: number, batches: number): void;
  batch(done: number, loss: number, lr: number): void;
  epochEnd(line: string): void;
  note(line: string): void;
  stop(): void;
}

export function createProgress(options: { quiet?: boolean; label?: string } = {}): Progress {
  const label = options.label ? `[${options.label}] ` : '';
  if (options.quiet) return { epochStart() {}, batch() {}, epochEnd() {}, note() {}, stop() {} };
  if (!process.stderr.isTTY) {
    // Plain lines: one per tenth of an epoch, one per epoch.
    let total = 0;
    let epochNo = 0;
    let epochCount = 0;
    const started = performance.now();
    return {
      epochStart(epoch, epochs, n) {
        epochNo = epoch;
        epochCount = epochs;
        total = n;
      },
      batch(done, loss, lr) {
        const tenth = Math.max(1, Math.round(total / 10));
        if (done % tenth === 0 && done < total) {
          const elapsed = (performance.now() - started) / 1000;
          process.stderr.write(
            `${label}epoch ${epochNo + 1}/${epochCount} batch ${done}/${total}: loss ${loss.toFixed(3)}, lr ${lr.toExponential(1)}, ${elapsed.toFixed(0)} s\n`,
          );
        }
      },
      epochEnd: (line) => process.stderr.write(`${label}${line}\n`),
      note: (line) => process.stderr.write(`${label}${line}\n`),
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      format: `${label}{name} [{bar}] {value}/{total} | {info} | ETA {eta_formatted}`,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let epochs: cliProgress.SingleBar | undefined;
  let batches: cliProgress.SingleBar | undefined;
  let lastEpochInfo = '';
  return {
    epochStart(epoch, total, n) {
      epochs ??= multi.create(total, epoch, { name: 'epochs ', info: 'starting' });
      epochs.update(epoch, { info: lastEpochInfo || 'starting' });
      if (batches) multi.remove(batches);
      batches = multi.create(n, 0, { name: 'batches', info: '' });
    },
    batch(done, loss, lr) {
      batches?.update(done, { info: `loss ${loss.toFixed(3)} lr ${lr.toExponential(1)}` });
    },
    epochEnd(line) {
      lastEpochInfo = line;
      epochs?.increment(1, { info: line });
    },
    note(line) {
      multi.log(`${label}${line}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}

/** Progress of a count (videos submitted, results in): a cli-progress bar on a terminal, a line per tenth otherwise. */
export interface CountProgress {
  update(done: number, total: number, what: string): void;
  stop(): void;
}

export function createCountProgress(options: { quiet?: boolean; label: string }): CountProgress {
  if (options.quiet) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let last = -1;
    let lastWhat = '';
    return {
      update(done, total, what) {
        const tenth = Math.max(1, Math.round(total / 10));
        if (what !== lastWhat || done === total || done - last >= tenth) {
          process.stderr.write(`[${options.label}] ${done}/${total} ${what}\n`);
          last = done;
          lastWhat = what;
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      format: `[${options.label}] {what} [{bar}] {value}/{total} | ETA {eta_formatted}`,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let current = '';
  return {
    update(done, total, what) {
      if (!started || what !== current) {
        if (started) bar.stop();
        bar.start(total, done, { what });
        started = true;
        current = what;
      } else bar.update(done, { what });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
