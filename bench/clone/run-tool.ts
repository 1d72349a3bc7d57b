/** Runs the command-line tools the clone benchmark compares against, with the stack's Postgres binaries first on PATH. */

export const PG_BIN = "/usr/lib/postgresql/15/bin";

const decoder = new TextDecoder();

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** CPU time of a tool's processes (user + system), children included once they were waited for. */
export interface ToolCpu {
  userSeconds: number;
  systemSeconds: number;
  cpuSeconds: number;
}

/** Runs `command` with `args`; throws with the end of its stderr when it fails. */
export async function runTool(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ToolOutput> {
  const out = await new Deno.Command(command, {
    args,
    env: { PATH: `${PG_BIN}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`, ...env },
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
 * Runs a bash script (pipefail, so any stage of a pipeline failing fails it); values go in as
 * "$1", "$2", ... rather than into the text. Answers its output and the CPU its processes used:
 * bash's `times` (the children's user and system time, as getrusage RUSAGE_CHILDREN counts it:
 * every process waited for, and theirs). The database server's own CPU is in no tool's figure.
 */
export async function runTimed(script: string, args: string[]): Promise<ToolOutput & { cpu: ToolCpu }> {
  const timesFile = await Deno.makeTempFile({ prefix: "reelforge-bench-times-" });
  try {
    const output = await runTool(
      "bash",
      ["-c", `set -euo pipefail; ${script}; times > "$BENCH_TIMES_FILE"`, "bench", ...args],
      { BENCH_TIMES_FILE: timesFile },
    );
    return { ...output, cpu: parseTimes(await Deno.readTextFile(timesFile)) };
  } finally {
    await Deno.remove(timesFile).catch(() => {});
  }
}

/** Runs a bash pipeline with runTimed; its stdout is discarded. */
export async function runPipeline(script: string, args: string[]): Promise<ToolCpu> {
  return (await runTimed(`${script} >/dev/null`, args)).cpu;
}

/** The children's line of bash's `times` output ("0m1.250s 0m0.310s", second line). */
export function parseTimes(text: string): ToolCpu {
  const seconds = (field: string) => {
    const match = field.match(/^(\d+)m([\d.]+)s$/);
    if (!match) throw new Error(`unexpected bash times output: ${JSON.stringify(text)}`);
    return Number(match[1]) * 60 + Number(match[2]);
  };
  const [user, system] = (text.trim().split("\n")[1] ?? "").trim().split(/\s+/).map(seconds);
  return { userSeconds: user, systemSeconds: system, cpuSeconds: Math.round((user + system) * 1000) / 1000 };
}
