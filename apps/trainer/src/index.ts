// The saccade CLI as a library: the program (for embedding or testing) and the commands.
export { buildProgram, main } from './cli.js';
export {
  calibrateCommand,
  classifyCommand,
  dataCommand,
  evalCommand,
  infoCommand,
  methodConfig,
  parseOverrides,
  resolveConfig,
  trainCommand,
} from './commands.js';
export type { EvalSummary, TrainCommandOptions, TrainSummary } from './commands.js';
export { reportText, runBench } from './bench.js';
export type { BenchGroup, BenchOptions, BenchReport } from './bench.js';
export { runDemo } from './demo.js';
export { EXIT, UsageError } from './errors.js';
