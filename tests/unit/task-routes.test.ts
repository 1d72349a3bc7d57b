/**
 * TASK_ROUTES is the one map of task kind → Edge Function. What the compiler cannot see is held
 * to it here: SQL that enqueues names its function as a literal, the functions/ folders are the
 * deployed functions, and the render worker claims the kinds routed to no function. The
 * `@ts-expect-error` lines are checked by `deno check` (tests/tools/deno-check.test.ts): each
 * must stay an error, so routing a kind to the wrong function cannot compile.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import type { TaskHandler } from "../../shared/engine/slice-runner.ts";
import type { ChildSpec } from "../../shared/engine/task-store.ts";
import {
  functionFor,
  isTaskKind,
  PROBE_FUNCTION,
  TASK_ROUTES,
  type TaskKind,
} from "../../shared/engine/task-routes.ts";
import { WORKER_JOB_KINDS } from "../../shared/worker/worker-job.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const handler: TaskHandler = () => Promise.resolve({ type: "done" });

/** Every engine.enqueue_task call in the migrations, with the literals it names. */
function sqlEnqueues(): { file: string; kind: string | null; fn: string | null }[] {
  const dir = join(root, "migrations");
  return readdirSync(dir).filter((f) => f.endsWith(".sql")).flatMap((file) => {
    const text = readFileSync(join(dir, file), "utf8");
    return [...text.matchAll(/engine\.enqueue_task\(([^;]*?)\)/gs)]
      .filter((m) => !/create function/i.test(text.slice(Math.max(0, m.index - 20), m.index)))
      .map((m) => ({
        file,
        kind: /p_kind\s*=>\s*'([^']+)'/.exec(m[1])?.[1] ?? null,
        fn: /p_function\s*=>\s*(?:'([^']+)'|null)/.exec(m[1])?.[1] ?? null,
      }));
  });
}

describe("TASK_ROUTES", () => {
  it("agrees with every (kind, function) pair the migrations enqueue", () => {
    const calls = sqlEnqueues();
    // The storage-cleanup doorbell and asset_admin.reset_film's film.produce, at least.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const { file, kind, fn } of calls) {
      expect(kind, `${file}: enqueue_task with a literal kind`).not.toBeNull();
      expect(isTaskKind(kind!), `${file}: ${kind} is in TASK_ROUTES`).toBe(true);
      expect(fn, `${file}: ${kind}'s function`).toBe(TASK_ROUTES[kind as TaskKind]);
    }
  });

  it("routes only to functions that exist, and every task-running function is routed to", () => {
    const routed = new Set(Object.values(TASK_ROUTES).filter((fn) => fn !== null));
    for (const fn of routed) expect(existsSync(join(root, "functions", fn, "index.ts")), fn).toBe(true);
    const declaring = readdirSync(join(root, "functions")).filter((name) =>
      readFileSync(join(root, "functions", name, "index.ts"), "utf8").includes(`routedHandlers("${name}"`)
    );
    expect(declaring.sort()).toEqual([...routed].sort());
  });

  it("leaves to the render worker exactly the kinds it claims", () => {
    const pulled = Object.entries(TASK_ROUTES).filter(([, fn]) => fn === null).map(([kind]) => kind);
    expect(pulled.sort()).toEqual([...WORKER_JOB_KINDS].sort());
  });

  it("derives each enqueue's function from the kind; test probes go to the fixture function", () => {
    expect(functionFor("film.mix")).toBe("generate-audio");
    expect(functionFor("render")).toBeNull();
    expect(functionFor("probe.append")).toBe(PROBE_FUNCTION);
    expect(Object.keys(TASK_ROUTES).filter((kind) => kind.startsWith("probe."))).toEqual([]);
    // A string smuggled past the types never becomes a task no function runs.
    expect(() => functionFor(JSON.parse('"film.unknown"'))).toThrow(/not in TASK_ROUTES/);
  });

  it("makes a function's handlers exactly the kinds routed to it (compile-time, see deno-check)", () => {
    const handlers = routedHandlers("generate-audio", { "film.voices": handler, "film.mix": handler });
    expect(Object.keys(handlers).sort()).toEqual(["film.mix", "film.voices"]);

    // @ts-expect-error film.chain runs on generate-scene-video, not generate-audio.
    routedHandlers("generate-audio", { "film.voices": handler, "film.mix": handler, "film.chain": handler });
    // @ts-expect-error film.mix is routed to generate-audio and has no handler here.
    routedHandlers("generate-audio", { "film.voices": handler });
    // @ts-expect-error no function by that name runs tasks.
    routedHandlers("generate-audi", {});
    // @ts-expect-error an unknown kind does not compile.
    const unknown: ChildSpec = { key: "x", kind: "film.mixx" };
    // @ts-expect-error an enqueue names a kind, never a function: the function comes from TASK_ROUTES.
    const misrouted: ChildSpec = { key: "y", kind: "film.mix", functionName: "assemble" };
    expect([unknown.key, misrouted.key]).toEqual(["x", "y"]);
  });
});
