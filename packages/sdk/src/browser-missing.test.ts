// A machine without Chromium: the browser test must fail at once with one line that names what to
// install, not wait out a hook timeout. Runs that test file in a child vitest with CHROMIUM_PATH
// pointing at nothing (the only candidate when it is set).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

describe('the browser test without Chromium', () => {
  it('fails in one line naming the package, with no hook timeout', () => {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const r = spawnSync(
      process.execPath,
      [join(cwd, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'src/browser.test.ts', '--reporter=default', '--hookTimeout=60000'],
      {
        cwd,
        env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium', CI: '' },
        encoding: 'utf8',
      },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status).not.toBe(0);
    expect(out).toMatch(/no Chromium found \(tried \/nonexistent\/chromium\); install Debian's chromium package/);
    expect(out).not.toMatch(/timed out/i);
  });
});
