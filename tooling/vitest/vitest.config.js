import { saccadePreset } from './src/index.js';

// The guard's own tests spawn vitest on a fixture; they need no tfjs backend in this process.
export default saccadePreset({ leakGuard: false });
