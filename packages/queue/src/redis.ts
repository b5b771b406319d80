/**
 * Redis connection options from a URL (redis://[user:password@]host:port[/db], rediss:// for TLS),
 * as BullMQ takes them. Authentication and TLS pass through: a password in the URL or in
 * `password`, and `tls` options (CA, client certificate) for rediss://.
 */
import { QueueOptionError } from './errors.js';

export interface RedisOptions {
  /** redis://host:port, rediss://host:port (TLS), with an optional user:password@ and /db. */
  url: string;
  /** A password not written in the URL (the CLI reads it from SACCADE_REDIS_PASSWORD). */
  password?: string;
  /** TLS options for rediss:// (node:tls ConnectionOptions: ca, cert, key, servername ...). */
  tls?: Record<string, unknown>;
}

/** ioredis connection options (what BullMQ's `connection` takes). */
export interface RedisConnection {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, unknown>;
  maxRetriesPerRequest: number | null;
  connectTimeout?: number;
}

export function connectionOf(o: RedisOptions): RedisConnection {
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new QueueOptionError('redis', `${JSON.stringify(o.url)} is not a URL (redis://host:port or rediss://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueOptionError('redis', `${u.protocol} is not redis: or rediss:`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueOptionError('redis', `database ${JSON.stringify(u.pathname.slice(1))} is not a non-negative integer`);
  const port = u.port ? Number(u.port) : 6379;
  const password = o.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(password ? { password } : {}),
    ...(u.protocol === 'rediss:' ? { tls: o.tls ?? {} } : {}),
    // BullMQ's workers block on Redis: it requires no retry limit per request.
    maxRetriesPerRequest: null,
  };
}
