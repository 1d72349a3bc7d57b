/**
 * Runway's dev API as documented: POST /v1/image_to_video and /v1/text_to_video (Bearer key and
 * X-Runway-Version required, ratio checked per model like the real one does) answer {id};
 * GET /v1/tasks/{id} walks the task through its scripted phases, one per poll (or, with a fixed
 * latency, by time: SUCCEEDED L ms after the create); DELETE cancels; an optional `seed` must be
 * an integer in 0..4294967295. Outputs point at this
 * server's /files/clip.mp4, or with `realClips` at an MP4 of the requested duration.
 */
import { clipOfSeconds } from "./fake-media.ts";
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { currentPhase, type FakeJobClock, nextScript, type ScriptRule } from "./fixed-latency.ts";

export interface RunwayTaskScript {
  /** Statuses returned one per poll; the last one sticks. Default PENDING, RUNNING, SUCCEEDED. */
  phases?: string[];
  failureCode?: string;
  failure?: string;
  /** SUCCEEDED with no usable output: omitted (true) or a placeholder string. */
  succeededWithoutOutput?: true | "null" | "undefined" | "";
  /** Put the URL in one of the alternative fields instead of output[]. */
  outputField?: "output_url" | "url" | "video_url";
}

const RATIOS: Record<string, string[]> = {
  "gen4.5": ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"],
  gen4_turbo: ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"],
  "veo3.1": ["1280:720", "720:1280", "1080:1920", "1920:1080"],
  "veo3.1_fast": ["1280:720", "720:1280", "1080:1920", "1920:1080"],
  veo3: ["1280:720", "720:1280", "1080:1920", "1920:1080"],
};

export interface RunwayFakeSettings {
  /** Fixed time from create to the last phase; null = one phase per poll. */
  latencyMs?: number | null;
  /** Serve an MP4 of the requested `duration` instead of the 1 s clip. */
  realClips?: boolean;
}

export interface RunwayFake extends FakeServer {
  nextTask(script: RunwayTaskScript): void;
  /** Scripts every task whose create body matches (e.g. one scene's prompt), ahead of nextTask's queue. */
  scriptWhen(match: (body: Record<string, unknown>) => boolean, script: RunwayTaskScript): void;
  configure(settings: RunwayFakeSettings): void;
  /** Drops queued scripts and rules. */
  clearScripts(): void;
  /** The body of every accepted create, in order. */
  created: Record<string, unknown>[];
  /** The id of every task cancelled (DELETE) while it existed, in order. */
  cancelled: string[];
}

export async function startRunwayFake(apiKey = "runway-test-key"): Promise<RunwayFake> {
  const server = await startFakeServer({
    authorize: (request) =>
      request.headers.authorization === `Bearer ${apiKey}` &&
      request.headers["x-runway-version"] === "2024-11-06",
  });
  const scripts: RunwayTaskScript[] = [];
  const rules: ScriptRule<Record<string, unknown>, RunwayTaskScript>[] = [];
  const tasks = new Map<
    string,
    FakeJobClock & { script: RunwayTaskScript; cancelled: boolean; output: string }
  >();
  const created: Record<string, unknown>[] = [];
  const cancelled: string[] = [];
  const settings: Required<RunwayFakeSettings> = { latencyMs: null, realClips: false };

  const outputFile = (duration: unknown) => {
    if (!settings.realClips || typeof duration !== "number") return "clip.mp4";
    const name = `clip-${duration}s.mp4`;
    server.serveFile(name, "video/mp4", () => clipOfSeconds(duration));
    return name;
  };

  const create = (request: { body: unknown }) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const ratios = RATIOS[String(body.model)];
    if (!ratios) return { status: 400, body: { error: `Invalid model: ${String(body.model)}` } };
    if (!ratios.includes(String(body.ratio))) {
      return { status: 400, body: { error: `ratio must be one of: ${ratios.join(", ")}` } };
    }
    if (typeof body.promptText === "string" && body.promptText.length > 1000) {
      return { status: 400, body: { error: "promptText too long" } };
    }
    // Documented: seed is an integer in 0..4294967295.
    if (
      body.seed !== undefined &&
      !(Number.isInteger(body.seed) && (body.seed as number) >= 0 && (body.seed as number) <= 4294967295)
    ) {
      return { status: 400, body: { error: "seed must be an integer between 0 and 4294967295" } };
    }
    const id = crypto.randomUUID();
    server.recordSubmission(body, id);
    created.push(body);
    tasks.set(id, {
      script: nextScript(rules, scripts, body, {}),
      polls: 0,
      createdAt: Date.now(),
      cancelled: false,
      output: outputFile(body.duration),
    });
    return { body: { id } };
  };
  server.route("POST /v1/image_to_video", create);
  server.route("POST /v1/text_to_video", create);

  server.route("GET /v1/tasks/:id", ({ params }) => {
    const task = tasks.get(params.id);
    if (!task) return { status: 404, body: { error: "Task not found" } };
    const phases = task.script.phases ?? ["PENDING", "RUNNING", "SUCCEEDED"];
    const status = task.cancelled ? "CANCELLED" : currentPhase(phases, task, settings.latencyMs);
    const answer: Record<string, unknown> = { id: params.id, status, createdAt: new Date().toISOString() };
    if (status === "RUNNING") answer.progress = 0.5;
    if (status === "FAILED") {
      Object.assign(answer, {
        failure: task.script.failure ?? "The generation failed",
        failureCode: task.script.failureCode ?? "INTERNAL",
      });
    }
    if (status === "SUCCEEDED") {
      const missing = task.script.succeededWithoutOutput;
      const url = server.fileUrl(task.output);
      if (missing === true) answer.output = [];
      else if (missing !== undefined) answer.output = [missing];
      else if (task.script.outputField) answer[task.script.outputField] = url;
      else answer.output = [url];
    }
    return { body: answer };
  });

  server.route("DELETE /v1/tasks/:id", ({ params }) => {
    const task = tasks.get(params.id);
    if (!task) return { status: 404, body: { error: "Task not found" } };
    task.cancelled = true;
    cancelled.push(params.id);
    return { status: 204 };
  });

  return Object.assign(server, {
    nextTask: (script: RunwayTaskScript) => void scripts.push(script),
    scriptWhen: (match: (body: Record<string, unknown>) => boolean, script: RunwayTaskScript) =>
      void rules.push({ match, script }),
    configure: (next: RunwayFakeSettings) => void Object.assign(settings, next),
    clearScripts() {
      scripts.length = 0;
      rules.length = 0;
    },
    created,
    cancelled,
  });
}
