// A worker's side of the protocol: its assignment, and its seconds with bounded retries. A coordinator that does
// not answer is given up (undefined), never waited for without end: the worker keeps its own deadline.
import type { Clock } from '../../common/clock.ts';
import { WORKER_START_ALLOWANCE_MS } from './port.ts';
import { LoadscopeError } from '../../common/errors.ts';
import {
  AssignmentSchema,
  SecondReplySchema,
  StartSchema,
  assignmentPath,
  secondsPath,
  startPath,
  type Assignment,
  type SecondReply,
  type Start,
  type WorkerSecond,
} from './protocol.ts';
import type { z } from 'zod';

/** The coordinator holds the start barrier until every worker is ready (bounded by its own timeouts): wait a little more. */
const GET_TIMEOUT_MS = 90_000;
/** Connection refused or reset: a few tries, 500 ms × attempt apart (capped at GET_BACKOFF_CAP_MS). */
const GET_ATTEMPTS = 5;
const GET_BACKOFF_CAP_MS = 2_000;
/** One second's POST: answered within milliseconds by a live coordinator; 3 attempts with back-off, then given up. */
const SECOND_TIMEOUT_MS = 2_000;
const SECOND_BACKOFF_MS = [250, 500] as const;

export class CoordinatorClient {
  constructor(
    private readonly baseUrl: string,
    private readonly index: number,
    private readonly token: string,
    private readonly clock: Clock,
  ) {}

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' };
  }

  /** The assignment, or undefined when the run no longer takes this worker (410). The first contact: a coordinator
   * not yet listening (a pod started before its coordinator's, a Service with no endpoint yet) is retried for
   * `waitMs` (default WORKER_START_ALLOWANCE_MS), then given up. */
  assignment(waitMs = WORKER_START_ALLOWANCE_MS): Promise<Assignment | undefined> {
    return this.get(assignmentPath(this.index), AssignmentSchema, 'assignment', waitMs);
  }

  /** Ready: waits for the start barrier (undefined: the run ended meanwhile). */
  start(): Promise<Start | undefined> {
    return this.get(startPath(this.index), StartSchema, 'start barrier');
  }

  /** GET with retries on connection errors: GET_ATTEMPTS tries, or as many as fit in `waitMs` when given. */
  private async get<T>(path: string, schema: z.ZodType<T>, what: string, waitMs?: number): Promise<T | undefined> {
    let last: unknown;
    const until = waitMs === undefined ? undefined : this.clock.monotonicMs() + waitMs;
    const more = (attempt: number): boolean => (until === undefined ? attempt < GET_ATTEMPTS : attempt === 0 || this.clock.monotonicMs() < until);
    for (let attempt = 0; more(attempt); attempt++) {
      if (attempt > 0) await this.clock.sleep(Math.min(500 * attempt, GET_BACKOFF_CAP_MS));
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, { headers: this.headers(), signal: AbortSignal.timeout(GET_TIMEOUT_MS) });
      } catch (err) {
        last = err;
        continue;
      }
      if (res.status === 410) return undefined;
      if (!res.ok) throw new LoadscopeError('LOAD_FAILED', `coordinator refused the ${what} of worker ${this.index}: HTTP ${res.status} ${await res.text()}`);
      const parsed = schema.safeParse(await res.json());
      if (!parsed.success) throw new LoadscopeError('LOAD_FAILED', `coordinator sent an invalid ${what}: ${parsed.error.message}`);
      return parsed.data;
    }
    throw new LoadscopeError('LOAD_FAILED', `coordinator ${this.baseUrl} unreachable: ${last instanceof Error ? last.message : String(last)}`);
  }

  /** The coordinator's reply, or undefined once every attempt failed. */
  async send(s: WorkerSecond): Promise<SecondReply | undefined> {
    const body = JSON.stringify(s);
    for (let attempt = 0; attempt <= SECOND_BACKOFF_MS.length; attempt++) {
      if (attempt > 0) await this.clock.sleep(SECOND_BACKOFF_MS[attempt - 1]!);
      try {
        const res = await fetch(`${this.baseUrl}${secondsPath(this.index)}`, {
          method: 'POST',
          headers: this.headers(),
          body,
          signal: AbortSignal.timeout(SECOND_TIMEOUT_MS),
        });
        if (res.status >= 400 && res.status < 500) return undefined; // refused for good (token, body): no retry helps
        if (!res.ok) continue;
        const parsed = SecondReplySchema.safeParse(await res.json());
        return parsed.success ? parsed.data : {};
      } catch {
        /* refused, reset or timed out: retried */
      }
    }
    return undefined;
  }
}
