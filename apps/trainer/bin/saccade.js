#!/usr/bin/env node
// The saccade binary: the built CLI (dist/cli.js, `pnpm build`).
import { main } from '../dist/cli.js';

process.exitCode = await main();
