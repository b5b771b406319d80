/**
 * Video jobs: the payload (validated before a worker reads anything), the job id derived from the
 * video and the model (so that submitting a corpus twice classifies nothing twice), and the rule
 * that a job's path must resolve, links followed, inside the roots a worker was given.
 */
import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

import { z } from 'zod';

import { JobPayloadError, OutsideRootsError, QueueOptionError } from './errors.js';
import { isVideoUrl } from './url.js';

/**
 * What a job carries: the video, as an absolute path on the storage the workers share or as an
 * http(s) URL (exactly one of them), the name to report, and the model's id.
 */
export const VIDEO_JOB = z
  .object({
    v: z.literal(1),
    path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path without NUL')
      .optional(),
    url: z
      .string()
      .max(4096)
      .refine((u) => isVideoUrl(u) && URL.canParse(u), 'must be an http: or https: URL')
      .optional(),
    file: z.string().min(1).max(4096),
    model: z.string().regex(/^[\w.-]{1,128}$/, 'must be 1-128 letters, digits, dots, dashes or underscores'),
  })
  .strict()
  .refine((j) => (j.path === undefined) !== (j.url === undefined), { message: 'a job has a path or a url, exactly one', path: ['path'] });
export type VideoJob = z.infer<typeof VIDEO_JOB>;

/** The payload of a job, or a JobPayloadError saying which field is wrong (the job is never retried). */
export function parseVideoJob(id: string, data: unknown): VideoJob {
  const r = VIDEO_JOB.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new JobPayloadError(id, `${issue.path.join('.') || 'payload'}: ${issue.message}`);
}

/**
 * The job id of a video for a model: a hash of the model id, the video's real path, its size and
 * its modification time. The same file for the same model is the same job, whoever submits it.
 */
export async function videoJobId(path: string, model: string): Promise<string> {
  const real = await realpath(path);
  const s = await stat(real);
  const h = createHash('sha256').update(`${model}\0${real}\0${s.size}\0${s.mtimeMs}`).digest('hex');
  return `v1-${h.slice(0, 40)}`;
}

/** Roots as real paths (links followed); a QueueOptionError when one does not exist. */
export async function realRoots(roots: readonly string[]): Promise<string[]> {
  if (roots.length === 0) throw new QueueOptionError('roots', 'a worker needs at least one root folder (--root) that its jobs may read from');
  return Promise.all(
    roots.map(async (r) => {
      try {
        return await realpath(resolve(r));
      } catch (error) {
        throw new QueueOptionError('roots', `${r} cannot be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }),
  );
}

/** The job's path as a real path inside one of `roots` (real paths), or an OutsideRootsError; a missing file is the filesystem's error. */
export async function resolveInRoots(path: string, roots: readonly string[]): Promise<string> {
  const real = await realpath(path);
  const inside = roots.some((root) => {
    const rel = relative(root, real);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  });
  if (!inside) throw new OutsideRootsError(path, roots);
  return real;
}
