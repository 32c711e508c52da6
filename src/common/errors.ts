// Error classes carry stable codes; cli/exit-codes.ts maps them to process exit codes in one place.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'RUN_FORMAT_UNSUPPORTED'
  | 'TARGET_NOT_ALLOWED'
  | 'ENGINE_UNAVAILABLE'
  | 'IMAGE_BUILD_FAILED'
  | 'IMAGE_MISSING'
  | 'STACK_START_FAILED'
  | 'STACK_TEARDOWN_FAILED'
  | 'PORT_IN_USE'
  | 'RUN_DIR_UNWRITABLE'
  | 'LOAD_FAILED'
  | 'SAMPLER_FAILED'
  | 'ABORTED'
  | 'VERDICT_FAILED'
  | 'INTERNAL';

export class LoadscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in user input, with where it was found (config path like `scenarios.normal.shape.users`, or `--flag`). */
export interface InputIssue {
  path: string;
  message: string;
}

/** Bad input: all problems at once, each with its path. Exit 2, nothing started. */
export class ConfigError extends LoadscopeError {
  readonly issues: readonly InputIssue[];
  readonly source: string;
  constructor(source: string, issues: readonly InputIssue[]) {
    super('CONFIG_INVALID', formatIssues(source, issues));
    this.issues = issues;
    this.source = source;
  }
}

export class UsageError extends LoadscopeError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export class TargetNotAllowedError extends LoadscopeError {
  constructor(
    readonly target: string,
    readonly where: string,
    reason: string,
  ) {
    super('TARGET_NOT_ALLOWED', `${where}: target ${target} refused: ${reason}`);
  }
}

export class EngineUnavailableError extends LoadscopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENGINE_UNAVAILABLE', message, options);
  }
}

export class StackStartError extends LoadscopeError {
  constructor(
    readonly service: string,
    message: string,
    readonly logTail: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super('STACK_START_FAILED', formatStackStart(service, message, logTail), options);
  }
}

export class AbortedError extends LoadscopeError {
  constructor(readonly signal: string) {
    super('ABORTED', `aborted by ${signal}`);
  }
}

function formatIssues(source: string, issues: readonly InputIssue[]): string {
  const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`);
  return `invalid input in ${source} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

function formatStackStart(service: string, message: string, logTail: readonly string[]): string {
  const tail = logTail.length > 0 ? `\n  last log lines of ${service}:\n${logTail.map((l) => `    | ${l}`).join('\n')}` : '';
  return `service ${service}: ${message}${tail}`;
}

/**
 * The one timeout error: something did not happen within its bound. `code` ETIMEDOUT makes a request that
 * timed out count as a 'timeout' error kind (load/flow-runner.ts), whichever transport saw it.
 */
export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly what: string,
    readonly timeoutMs?: number,
  ) {
    super(`${what} timed out${timeoutMs !== undefined ? ` after ${timeoutMs} ms` : ''}`);
    this.name = 'TimeoutError';
  }
}
