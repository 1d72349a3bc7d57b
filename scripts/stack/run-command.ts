/** Runs external programs for the stack CLI, as the `postgres` OS user where Postgres needs it. */

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const isRoot = Deno.uid() === 0;

/** Runs `program args` to completion and captures its output. */
export async function runCommand(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; inherit?: boolean } = {},
): Promise<CommandResult> {
  const output = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: options.inherit ? "inherit" : "piped",
    stderr: options.inherit ? "inherit" : "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: options.inherit ? "" : decoder.decode(output.stdout),
    stderr: options.inherit ? "" : decoder.decode(output.stderr),
  };
}

/** Postgres refuses to run as root: when we are root, run as the `postgres` OS user. */
export function runAsPostgres(
  program: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<CommandResult> {
  return isRoot
    ? runCommand("runuser", ["-u", "postgres", "--", program, ...args], options)
    : runCommand(program, args, options);
}

/** Runs and throws with the command's output when it fails. */
export async function mustSucceed(what: string, result: Promise<CommandResult>): Promise<CommandResult> {
  const done = await result;
  if (done.code !== 0) {
    throw new Error(`${what} failed (exit ${done.code})\n${done.stdout}${done.stderr}`.trimEnd());
  }
  return done;
}
