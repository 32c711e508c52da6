import type { Analysis } from '../analysis/analyze.ts';
import { LoadscopeError, type ErrorCode } from '../common/errors.ts';

// The one place errors and verdicts become exit codes: 0 pass, 1 a verdict failed, 2 usage/config, 3 infrastructure, 130 aborted.
export const ExitCode = {
  Ok: 0,
  VerdictFailed: 1,
  Usage: 2,
  Infrastructure: 3,
  Aborted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const byCode: Record<ErrorCode, ExitCode> = {
  CONFIG_INVALID: ExitCode.Usage,
  USAGE: ExitCode.Usage,
  RUN_FORMAT_UNSUPPORTED: ExitCode.Usage,
  TARGET_NOT_ALLOWED: ExitCode.Usage,
  ENGINE_UNAVAILABLE: ExitCode.Infrastructure,
  IMAGE_BUILD_FAILED: ExitCode.Infrastructure,
  IMAGE_MISSING: ExitCode.Infrastructure,
  STACK_START_FAILED: ExitCode.Infrastructure,
  STACK_TEARDOWN_FAILED: ExitCode.Infrastructure,
  PORT_IN_USE: ExitCode.Infrastructure,
  RUN_DIR_UNWRITABLE: ExitCode.Infrastructure,
  LOAD_FAILED: ExitCode.Infrastructure,
  SAMPLER_FAILED: ExitCode.Infrastructure,
  ABORTED: ExitCode.Aborted,
  VERDICT_FAILED: ExitCode.VerdictFailed,
  INTERNAL: ExitCode.Infrastructure,
};

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof LoadscopeError) return byCode[err.code];
  return ExitCode.Infrastructure;
}

/** The analysis verdict as an exit code, for `run` and `analyze` alike: a run that cannot judge the SUT (invalid) must not look green in CI. */
export function exitCodeForVerdict(verdict: Analysis['verdict'], strict = false): ExitCode {
  if (verdict === 'pass') return ExitCode.Ok;
  if (verdict === 'inconclusive') return strict ? ExitCode.VerdictFailed : ExitCode.Ok;
  return ExitCode.VerdictFailed;
}
