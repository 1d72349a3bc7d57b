/** Runs the command-line tools the clone benchmark compares against, with the stack's Postgres binaries first on PATH. */

export const PG_BIN = "/usr/lib/postgresql/15/bin";

const decoder = new TextDecoder();

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args`; throws with the end of its stderr when it fails. */
export async function runTool(command: string, args: string[]): Promise<ToolOutput> {
  const out = await new Deno.Command(command, {
    args,
    env: { PATH: `${PG_BIN}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = { stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  if (!out.success) {
    throw new Error(
      `${[command, ...args].join(" ").slice(0, 200)} exited ${out.code}:\n${
        (result.stderr || result.stdout).slice(-2000)
      }`,
    );
  }
  return result;
}

/**
 * Runs a bash pipeline (pipefail, so any stage failing fails it); values go in as "$1", "$2", ...
 * rather than into the text. Its stdout is discarded.
 */
export async function runPipeline(script: string, args: string[]): Promise<void> {
  await runTool("bash", ["-c", `set -euo pipefail; ${script} >/dev/null`, "bench", ...args]);
}
