// The only autocannon importer. Zero-think-time users of one cohort (started together in one worker) run as
// ONE autocannon instance with one connection per user: autocannon's HTTP client is much leaner than
// node:http, and one instance costs one set of timers and histograms instead of one per user.
//
// Each connection IS a user. autocannon 9 has no per-connection hooks for what a user needs (own state
// across request-list loops, onStart steps with back-off, individual stop), so setupClient steers these
// parts of lib/httpClient.js on each client instance (checked there, so a changed autocannon fails loudly):
// - requestIterator.context is the user object and resetContext() is a no-op: captured tokens survive;
// - _doRequest() picks the user's next request (onStart state machine first, then weighted tasks) as
//   pre-encoded bytes (static steps are encoded once), pauses for back-off, and destroys the client
//   when the user stops; autocannon's request builder never runs;
// - _destroyConnection() marks autocannon's request timeout, which it reports only after reconnecting;
// - pipelinedRequests is a one-slot queue (pipelining 1) that records the response where autocannon ends it:
//   no per-request queue entry, hrtime arrays or body string unless the step captures from the body, and no
//   second 'response' listener (EventEmitter copies its listener array per emit when there are two).
import { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import { backoffMs, ONSTART_BACKOFF } from '../common/backoff.ts';
import { TimeoutError } from '../common/errors.ts';
import type { AllowedTarget } from '../config/target.ts';
import type { RenderContext } from '../config/template.ts';
import { captureInto, exceptionErrorKind, ONSTART_RESTART_PAUSE_MS, pickTaskIndex, statusErrorKind, type CompiledStep } from './flow-runner.ts';
import { userRandom, type RunningUser, type UserDeps } from './user-context.ts';
import { wireBytes, wireStep, type WireStep } from './wire-request.ts';

export const AUTOCANNON_VERSION = '9.0.0';

/** The tracker autocannon returns: an EventEmitter with stop() (and a then()); its types declare only the promise. */
type Instance = EventEmitter & { stop(): void };
const isInstance = (x: unknown): x is Instance => x instanceof EventEmitter && 'stop' in x && typeof x.stop === 'function';

/** autocannon 9 takes the histograms to record into (lib/run.js); its types do not list the option. */
type DriverOptions = autocannon.Options & { histograms: typeof NO_HISTOGRAMS };

interface AcRequest {
  requestBuffer: Buffer;
  /** autocannon calls this with the body, before the client's 'response' event */
  onResponse?: (status: number, body: string, context: unknown) => void;
}

/** The parts of autocannon 9's lib/httpClient.js Client this driver uses. */
interface AcClient extends EventEmitter {
  requestIterator: { context: unknown; resetContext(): void; nextRequest(): unknown; currentRequest: AcRequest };
  pipelinedRequests: AcQueue;
  timeoutTicker: { reschedule(ms: number): void };
  /** ms */
  timeout: number;
  destroyed: boolean;
  _doRequest(): void;
  _destroyConnection(): void;
  destroy(): void;
}

/** What lib/httpClient.js calls on client.pipelinedRequests (lib/pipelinedRequestsQueue.js). */
interface AcQueue {
  insertRequest(req: AcRequest): void;
  addByteCount(n: number): void;
  addBody(data: Buffer): void;
  setHeaders(info: { statusCode: number }): void;
  /** the finished request, read by autocannon right after (req, body, headers.statusCode, bytes, duration) */
  terminateRequest(): AcSlot | undefined;
  clear(): void;
  size(): number;
}

interface AcSlot {
  req: AcRequest;
  bytes: number;
  body: string;
  headers: { statusCode: number };
  /** performance.now() when the request was handed to the socket */
  startMs: number;
  /** ms */
  duration: number;
}

interface AcUser {
  id: number;
  ctx: RenderContext;
  /** index of the onStart step to send next; onStart.length once the user is set up */
  startIdx: number;
  attempt: number;
  /** step of the request in flight (or last sent): its response is recorded under this endpoint */
  step: CompiledStep;
  awaiting: boolean;
  connErr?: Error;
  /** autocannon dropped the connection itself: its request timeout */
  dropped: boolean;
  pauseMs: number;
  pauseTimer?: NodeJS.Timeout;
  stopping: boolean;
  client?: AcClient;
  finished: () => void;
  done: Promise<void>;
}

interface Prepared {
  w: WireStep;
  /** shared request object for static steps (nothing in it is per user) */
  req?: AcRequest;
  onResponse?: AcRequest['onResponse'];
}

// a zero-think loop against a failing target would spin; back off a little, like the node:http users
const FAIL_PAUSE_MS = 10;

// Each instance would build three wasm HDR histograms (5 significant digits, auto-resizing) and record every
// response in them; the recorder keeps its own, so these record nothing. Profiled as the worker's top cost
// at 1,000-2,000 users (wasm histogram growth plus its garbage).
// `__custom` makes autocannon skip encoding them.
const NO_HIST = { __custom: true, recordValue() {}, recordValueWithExpectedInterval() {}, reset() {}, destroy() {} };
const NO_HISTOGRAMS = { latencies: NO_HIST, requests: NO_HIST, throughput: NO_HIST };
const NO_STATUS = { statusCode: 0 };
const TIMEOUT_ERR = new TimeoutError('request');

export interface ZeroThinkDriver {
  /** starts `ids.length` users as one autocannon instance, one connection each */
  startCohort(ids: readonly number[]): RunningUser[];
}

export function createZeroThinkDriver(deps: UserDeps): ZeroThinkDriver {
  return new CohortDriver(deps);
}

/** One slot per connection (one request in flight); the response is recorded when autocannon ends it. */
function oneSlotQueue(client: AcClient, u: AcUser, recorder: UserDeps['recorder']): AcQueue {
  const slot: AcSlot = { req: { requestBuffer: Buffer.alloc(0) }, bytes: 0, body: '', headers: { statusCode: 0 }, startMs: 0, duration: 0 };
  let pending = false;
  return {
    insertRequest(req) {
      pending = true;
      slot.req = req;
      slot.bytes = 0;
      slot.body = '';
      slot.headers = NO_STATUS;
      // same instant as autocannon's own hrtime: just before the request bytes are written
      slot.startMs = performance.now();
    },
    addByteCount(n) {
      if (pending) slot.bytes += n;
    },
    addBody(data) {
      // the body is read only by a step that captures from it
      if (pending && slot.req.onResponse) slot.body += data.toString();
    },
    setHeaders(info) {
      if (pending) slot.headers = info;
    },
    terminateRequest() {
      if (!pending) return undefined;
      pending = false;
      slot.duration = performance.now() - slot.startMs;
      // autocannon reports a response only on a live client (it emits 'response' under the same condition)
      if (!client.destroyed) {
        u.awaiting = false;
        const status = slot.headers.statusCode;
        recorder.response(u.step.name, u.step.method, slot.duration * 1000, statusErrorKind(status), slot.bytes, status);
      }
      return slot;
    },
    clear() {
      pending = false;
    },
    size: () => (pending ? 1 : 0),
  };
}

/** Fails loudly when autocannon's client is not the one this driver was written against. */
function assertSteerable(client: AcClient): void {
  const it = client.requestIterator;
  const q = client.pipelinedRequests as Partial<AcQueue> | undefined;
  if (
    typeof client._doRequest !== 'function' ||
    typeof client._destroyConnection !== 'function' ||
    typeof it?.nextRequest !== 'function' ||
    typeof q?.terminateRequest !== 'function' ||
    typeof q.insertRequest !== 'function'
  ) {
    throw new Error(`autocannon client internals differ from ${AUTOCANNON_VERSION}; the zero-think driver cannot steer them`);
  }
}

class CohortDriver implements ZeroThinkDriver {
  private readonly host: string;
  private readonly onStart: Prepared[];
  private readonly tasks: Prepared[];

  constructor(private readonly deps: UserDeps) {
    this.host = deps.target.host;
    this.onStart = deps.flow.onStart.map((s) => this.prepare(s, this.onStartResponse));
    this.tasks = deps.flow.tasks.map((s) => this.prepare(s, s.capture.length > 0 ? onCaptureResponse : undefined));
  }

  private prepare(s: CompiledStep, onResponse: AcRequest['onResponse']): Prepared {
    const w = wireStep(s, this.host);
    return { w, onResponse, req: w.fixed && { requestBuffer: w.fixed, onResponse } };
  }

  private startFailed(u: AcUser, status?: number): void {
    // same schedule as runOnStart on node:http: retry with back-off, then the whole flow again after a pause
    if (++u.attempt > u.step.retries) {
      this.deps.onEvent('onstart-failed', { userId: u.id, step: u.step.name, status });
      u.startIdx = 0;
      u.attempt = 0;
      u.pauseMs = ONSTART_RESTART_PAUSE_MS;
    } else u.pauseMs = backoffMs(u.attempt, ONSTART_BACKOFF);
  }

  private readonly onStartResponse = (status: number, body: string, context: unknown): void => {
    const u = context as AcUser;
    if (statusErrorKind(status) === undefined && captureInto(u.step, body, u.ctx.vars)) {
      u.startIdx++;
      u.attempt = 0;
    } else this.startFailed(u, status);
  };

  private nextRequest(u: AcUser): AcRequest {
    const { onStart, tasks } = this;
    const p = u.startIdx < onStart.length ? onStart[u.startIdx] : tasks[tasks.length === 1 ? 0 : pickTaskIndex(this.deps.flow, u.ctx.random!())];
    if (!p) throw new Error('flow has no tasks');
    u.step = p.w.step;
    return p.req ?? { requestBuffer: wireBytes(p.w, this.host, u.ctx), onResponse: p.onResponse };
  }

  /** The request in flight got no response: record why, drop autocannon's stale queue entry, back off. */
  private failed(u: AcUser, client: AcClient): void {
    u.awaiting = false;
    // autocannon keeps the lost request queued and would match the next response (and latency) to it
    client.pipelinedRequests.clear();
    const err = u.connErr ?? (u.dropped ? TIMEOUT_ERR : undefined);
    // a close without error (server ended a keep-alive connection) is not counted, like autocannon itself
    if (!err) return;
    const kind = exceptionErrorKind(err);
    this.deps.recorder.exception(u.step.name, u.step.method, kind, (err as { code?: string }).code ?? kind);
    if (u.startIdx < this.onStart.length) this.startFailed(u);
    else u.pauseMs = Math.max(u.pauseMs, FAIL_PAUSE_MS);
  }

  /** Pauses the user's next send by u.pauseMs; nothing is in flight meanwhile. */
  private pause(client: AcClient, u: AcUser): void {
    const ms = u.pauseMs;
    u.pauseMs = 0;
    // keep autocannon's request timeout off the idle connection
    client.timeoutTicker.reschedule(ms + client.timeout);
    u.pauseTimer = setTimeout(() => {
      u.pauseTimer = undefined;
      if (!client.destroyed) client._doRequest();
    }, ms);
  }

  private steer(client: AcClient, u: AcUser): void {
    assertSteerable(client);
    const it = client.requestIterator;
    const send = client._doRequest;
    const dropConnection = client._destroyConnection;
    u.client = client;
    client.pipelinedRequests = oneSlotQueue(client, u, this.deps.recorder);
    it.context = u;
    it.resetContext = () => {};
    it.nextRequest = () => it.currentRequest;
    client._destroyConnection = () => {
      u.dropped = true;
      dropConnection.call(client);
    };
    client._doRequest = () => {
      if (u.pauseTimer) return; // a paused send is pending and will go out on the current connection
      if (u.awaiting) this.failed(u, client);
      if (u.stopping || this.deps.runStopped?.() || Date.now() >= this.deps.deadlineEpochMs) return client.destroy();
      if (u.pauseMs > 0) return this.pause(client, u);
      it.currentRequest = this.nextRequest(u);
      u.awaiting = true;
      u.connErr = undefined;
      u.dropped = false;
      send.call(client);
    };
    client.on('connError', (err: Error) => (u.connErr = err));
    client.on('done', () => {
      clearTimeout(u.pauseTimer);
      u.pauseTimer = undefined;
      u.finished();
    });
  }

  private newUser(id: number): AcUser {
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    const first = this.onStart[0]?.w.step ?? this.tasks[0]?.w.step;
    if (!first) throw new Error('flow has no tasks');
    return {
      id,
      ctx: { userId: id, vars: {}, random: userRandom(this.deps, id) },
      startIdx: 0,
      attempt: 0,
      step: first,
      awaiting: false,
      dropped: false,
      pauseMs: 0,
      stopping: false,
      finished,
      done,
    };
  }

  /** One autocannon instance with one connection per user, each connection steered as that user. */
  private launch(users: AcUser[]): void {
    const deps = this.deps;
    const finishAll = (): void => users.forEach((u) => u.finished());
    let nextClient = 0;
    try {
      const options: DriverOptions = {
        url: deps.target.origin,
        connections: users.length,
        pipelining: 1,
        duration: Math.max(1, Math.ceil((deps.deadlineEpochMs - Date.now()) / 1000)),
        // autocannon refuses timeouts under 1 s
        timeout: Math.max(1, deps.requestTimeoutMs / 1000),
        skipAggregateResult: true,
        histograms: NO_HISTOGRAMS,
        setupClient: (c: unknown) => {
          const u = users[nextClient++];
          if (!u) throw new Error('autocannon made more connections than users');
          this.steer(c as AcClient, u);
        },
      };
      const inst: unknown = autocannon(options);
      if (!isInstance(inst)) throw new Error('autocannon returned no tracker (an autocannon other than 9.x?)');
      inst.on('done', finishAll);
      inst.on('error', (err: Error) => {
        deps.onEvent('user-error', { users: users.length, message: err.message });
        finishAll();
      });
    } catch (err) {
      deps.onEvent('user-error', { users: users.length, message: err instanceof Error ? err.message : String(err) });
      users.forEach((u) => u.client?.destroy());
      finishAll();
    }
  }

  startCohort(ids: readonly number[]): RunningUser[] {
    const users = ids.map((id) => this.newUser(id));
    if (users.length > 0 && Date.now() < this.deps.deadlineEpochMs) this.launch(users);
    else users.forEach((u) => u.finished());
    return users.map((u) => ({ id: u.id, stop: (cancel) => this.stopUser(u, cancel) }));
  }

  private stopUser(u: AcUser, cancel: boolean | undefined): Promise<void> {
    u.stopping = true;
    const c = u.client;
    if (!c || c.destroyed) u.finished();
    else if (cancel) {
      if (u.awaiting) this.deps.recorder.cancelled(u.step.name, u.step.method);
      u.awaiting = false;
      c.destroy();
    }
    // graceful: finish the request in flight, then _doRequest destroys the client instead of sending
    else if (u.pauseTimer) c.destroy();
    return u.done;
  }
}

function onCaptureResponse(status: number, body: string, context: unknown): void {
  const u = context as AcUser;
  if (statusErrorKind(status) === undefined) captureInto(u.step, body, u.ctx.vars);
}

/** Bench baseline: plain autocannon, GET `/`, fixed connections and duration. Returns completed req/s. */
export async function rawAutocannonRps(target: AllowedTarget, connections: number, durationS: number): Promise<number> {
  const result = await autocannon({ url: target.origin, connections, duration: durationS });
  return result.requests.total / durationS;
}
