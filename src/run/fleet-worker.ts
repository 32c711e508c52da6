// `loadscope worker` (#15, docs/DISTRIBUTED.md): one share of a run. Its assignment from the coordinator, the
// target checked again here before any connection, the start barrier, the engine on its share, each second sent
// back. It ends by itself at its deadline, coordinator or not.
import { cpus, hostname } from 'node:os';
import { realClock, type Clock, type Timer } from '../common/clock.ts';
import { UsageError } from '../common/errors.ts';
import { allowTarget } from '../config/target.ts';
import { runLoad, type EngineEvent, type SecondSample, type StopReason } from '../load/engine.ts';
import { K8S_INDEX_ENV, WORKER_COORDINATOR_ENV, WORKER_INDEX_ENV, WORKER_START_ALLOWANCE_ENV, WORKER_TOKEN_ENV } from '../load/fleet/port.ts';
import { sampleToWire, type Assignment, type SecondReply, type WorkerSecond } from '../load/fleet/protocol.ts';
import { CoordinatorClient } from '../load/fleet/worker-client.ts';

export interface WorkerOutcome {
  index: number;
  stoppedBy?: StopReason;
  /** every second reached the coordinator (false: it stopped answering and the stream was given up) */
  delivered: boolean;
  /** the run no longer took this worker (it asked after the run ended) */
  turnedAway?: boolean;
}

/** Where the worker finds its coordinator, index and token, and how long it retries its first contact (absent: the
 * client's default); a missing or invalid one is a usage error (exit 2). */
export function workerSettings(env: NodeJS.ProcessEnv): { url: string; index: number; token: string; startAllowanceMs?: number } {
  const url = env[WORKER_COORDINATOR_ENV];
  const token = env[WORKER_TOKEN_ENV];
  const rawIndex = env[WORKER_INDEX_ENV] ?? env[K8S_INDEX_ENV];
  const index = Number(rawIndex);
  const rawAllowance = env[WORKER_START_ALLOWANCE_ENV];
  const startAllowanceMs = rawAllowance === undefined ? undefined : Number(rawAllowance);
  const missing = [
    !url && WORKER_COORDINATOR_ENV,
    !token && WORKER_TOKEN_ENV,
    !(rawIndex && Number.isInteger(index) && index >= 0) && `${WORKER_INDEX_ENV} (or ${K8S_INDEX_ENV})`,
    startAllowanceMs !== undefined && !(Number.isInteger(startAllowanceMs) && startAllowanceMs > 0) && `${WORKER_START_ALLOWANCE_ENV} (milliseconds > 0)`,
  ].filter(Boolean);
  if (missing.length)
    throw new UsageError(`loadscope worker is started by a coordinator (loadscope run --workers N); missing or invalid: ${missing.join(', ')}`);
  return { url: url!, index, token: token!, ...(startAllowanceMs !== undefined && { startAllowanceMs }) };
}

export async function runWorker(env: NodeJS.ProcessEnv, log: (line: string) => void, clock: Clock = realClock): Promise<WorkerOutcome> {
  const { url, index, token, startAllowanceMs } = workerSettings(env);
  const client = new CoordinatorClient(url, index, token, clock);
  const a = await client.assignment(startAllowanceMs);
  if (!a) return { index, delivered: true, turnedAway: true };
  // the coordinator checked it too; this process checks it again before its first connection (TargetNotAllowedError: exit 2)
  const target = allowTarget(a.target, a.allowTargets, `worker ${index} assignment`);
  log(`worker ${index}/${a.count} of run ${a.runId}: → ${target.origin}`);
  return new WorkerStream(a, client, clock, log).run(target);
}

/** The worker's run: the engine on its share, seconds queued and sent in order, the coordinator's replies applied. */
class WorkerStream {
  private readonly stop = new AbortController();
  private readonly queue: WorkerSecond[] = [];
  private readonly events: EngineEvent[] = [];
  private sending?: Promise<void>;
  private delivered = true;
  private breakReason?: string;
  private broke = false;
  private startedAtMs = 0;
  private deadlineEpochMs = Number.POSITIVE_INFINITY;
  private turnedAway = false;

  constructor(
    private readonly a: Assignment,
    private readonly client: CoordinatorClient,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  private toSecond(s: SecondSample): WorkerSecond {
    return {
      elapsedS: s.elapsedS,
      final: s.final,
      phase: s.phase,
      activeUsers: s.activeUsers,
      cpuCores: s.cpuCores,
      hostCores: cpus().length,
      host: hostname(),
      startedAtMs: this.startedAtMs,
      data: sampleToWire(s),
      events: this.events.splice(0).map((e) => ({ kind: e.kind, atMs: e.atMs, detail: e.detail })),
    };
  }

  private apply(r: SecondReply): void {
    if (r.stop) this.stop.abort('coordinator');
    if (r.breakReason && !this.broke) this.breakReason = r.breakReason;
  }

  private enqueue(s: WorkerSecond): void {
    this.queue.push(s);
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  private async drain(): Promise<void> {
    for (let s = this.queue.shift(); s; s = this.queue.shift()) {
      if (!this.delivered) continue;
      const reply = await this.client.send(s);
      if (reply) this.apply(reply);
      else {
        this.delivered = false;
        this.log(
          `worker ${this.a.index}: the coordinator does not answer; seconds are no longer sent, the load stops at its deadline ${new Date(this.deadlineEpochMs).toISOString()}`,
        );
      }
    }
  }

  async run(target: Parameters<typeof runLoad>[0]['target']): Promise<WorkerOutcome> {
    const a = this.a;
    let deadline: Timer | undefined;
    /** ready (threads up): the coordinator answers with the shared start once every worker is */
    const startBarrier = async (): Promise<void> => {
      const st = await this.client.start();
      if (!st) {
        this.turnedAway = true;
        return this.stop.abort('coordinator');
      }
      this.deadlineEpochMs = st.deadlineEpochMs;
      // the deadline holds whatever the coordinator does: the engine is stopped then, its last second still recorded
      deadline = this.clock.setTimer(st.deadlineEpochMs - this.clock.nowMs(), () => this.stop.abort('deadline'));
      this.log(`worker ${a.index}: start at ${new Date(st.barrierEpochMs).toISOString()}, deadline ${new Date(st.deadlineEpochMs).toISOString()}`);
      await this.clock.sleep(st.barrierEpochMs - this.clock.nowMs());
    };
    const onTerm = (): void => this.stop.abort('signal');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onTerm);
    let final: WorkerSecond | undefined;
    try {
      const result = await runLoad({
        flow: a.flow,
        target,
        timeline: a.timeline,
        thinkMinMs: a.thinkMinMs,
        thinkMaxMs: a.thinkMaxMs,
        requestTimeoutMs: a.requestTimeoutMs,
        seed: a.seed,
        workers: a.threads ?? 1,
        signal: this.stop.signal,
        clock: this.clock,
        startBarrier,
        onEvent: (e) => this.events.push(e),
        breakRule: () => {
          const why = this.breakReason;
          if (why) [this.breakReason, this.broke] = [undefined, true];
          return why;
        },
        onSecond: (s) => {
          if (!this.startedAtMs) this.startedAtMs = s.startMs;
          const wire = this.toSecond(s);
          if (s.final) final = wire;
          else this.enqueue(wire);
        },
      });
      if (this.turnedAway) return { index: a.index, delivered: true, turnedAway: true };
      const why = this.stop.signal.reason as string | undefined;
      const stoppedBy: StopReason = result.stoppedBy === 'signal' && why === 'deadline' ? 'deadline' : result.stoppedBy;
      if (final) this.enqueue({ ...final, stoppedBy });
      await this.sending;
      return { index: a.index, stoppedBy, delivered: this.delivered };
    } finally {
      deadline?.cancel();
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onTerm);
    }
  }
}
