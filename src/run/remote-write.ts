// Wires remote write into a run: the run's own instruments (Telemetry) pushed by a RemoteWriter, each give-up
// logged, recorded in events.ndjson and counted on loadscope_remote_write_failures_total. Never stops the load.
import type { RemoteWriteConfig } from '../config/schema.ts';
import type { RunWriter } from '../store/run-writer.ts';
import type { Telemetry } from '../telemetry/otel.ts';
import { RemoteWriter, type RemoteWriteStats } from '../telemetry/remote-write.ts';

export interface RemoteWriteHandle {
  /** The final push, then the totals (also recorded as the `remote-write-done` event). */
  stop(): Promise<RemoteWriteStats>;
}

export function startRemoteWrite(telemetry: Telemetry, rw: RemoteWriteConfig, writer: RunWriter, log: (line: string) => void): RemoteWriteHandle {
  // events.ndjson may already be closed on a failed run's teardown: the log line still says it
  const event = (kind: string, detail: Record<string, unknown>): void => {
    try {
      writer.event(kind, detail);
    } catch {
      /* best effort */
    }
  };
  const pusher = new RemoteWriter({
    url: rw.url,
    intervalMs: rw.intervalMs,
    collect: () => telemetry.collectSeries(),
    onFailure: (f) => {
      telemetry.setRemoteWriteFailures(f.failures);
      event('remote-write-failed', { url: rw.url, ...f });
      log(`warning: remote write to ${rw.url} failed after ${f.attempts} attempt(s): ${f.error} (${f.samples} samples dropped; the load goes on)`);
    },
  });
  telemetry.setRemoteWriteFailures(0);
  pusher.start();
  event('remote-write-start', { url: rw.url, intervalMs: rw.intervalMs });
  log(`remote write: ${rw.url} every ${rw.intervalMs / 1000} s`);
  return {
    stop: async () => {
      const stats = await pusher.stop();
      event('remote-write-done', { url: rw.url, ...stats });
      return stats;
    },
  };
}
