export declare const SOURCE_CONDITION = '@saccade/source';
export interface PresetOptions {
  /** Extra setup files (absolute paths or paths relative to the package root), after the leak guard. */
  setupFiles?: string[];
  /** Per-test timeout in ms; tfjs kernels on one CPU thread are slow, so the default is generous. */
  testTimeout?: number;
  /** Turn the tensor-leak guard off (only for packages that never touch tfjs). */
  leakGuard?: boolean;
}
export declare function saccadePreset(options?: PresetOptions): {
  resolve: { conditions: string[] };
  ssr: { resolve: { conditions: string[]; externalConditions: string[] } };
  test: {
    include: string[];
    setupFiles: string[];
    pool: 'forks';
    testTimeout: number;
    hookTimeout: number;
    reporters: string[];
    outputFile: { json: string };
  };
};
