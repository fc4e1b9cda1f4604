// A user error: printed as one line on stderr, exit code 2, never a stack trace.
export class UserError extends Error {
  readonly exitCode = 2;
}
