export {
  QUEUE_ERROR_CODES,
  QueueError,
  JobPayloadError,
  OutsideRootsError,
  QueueOptionError,
  QueueUnavailableError,
  UrlNotAllowedError,
  DownloadError,
} from './errors.js';
export type { QueueErrorCode } from './errors.js';
export { connectionOf } from './redis.js';
export type { RedisOptions } from './redis.js';
export { VIDEO_JOB, parseVideoJob, videoJobId, realRoots, resolveInRoots } from './job.js';
export type { VideoJob } from './job.js';
export { DEFAULT_QUEUE, startWorker, parseFailure } from './worker.js';
export type { FailureReason, RunningWorker, WorkerOptions } from './worker.js';
export { openQueue, submitVideos, waitForJobs } from './submit.js';
export type { JobOutcome, Submitted, SubmitOptions, SubmitResult } from './submit.js';
export { queueStatus } from './status.js';
export type { QueueStatus } from './status.js';
export { isVideoUrl, parseVideoUrl, urlPrefixes, allowedUrl, downloadVideo, urlJobId } from './url.js';
export type { DownloadOptions, Downloaded } from './url.js';
