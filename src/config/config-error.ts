/**
 * A setting the relay cannot start with. The message is one line, `VARIABLE: what is wrong`, printed as
 * is at start-up (never a stack trace); `reason` is the part after the name.
 */
export class ConfigError extends Error {
  readonly reason: string;

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.reason = message;
  }
}

/** Every problem found in one pass over the settings, so an operator fixes them all before one restart. */
export class ConfigProblems extends Error {
  constructor(readonly problems: readonly ConfigError[]) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'ConfigProblems';
  }
}
