/**
 * Runway's dev API as documented: POST /v1/image_to_video and /v1/text_to_video (Bearer key and
 * X-Runway-Version required) answer {id}, and refuse with 400 {error} a body the real API refuses:
 * a model without that endpoint, a ratio or duration the model does not take there, a seed or
 * contentModeration the model has no field for, a field Runway does not know (the per-model
 * table is the adapter's, shared/providers/runway/runway-models.ts, so a wrong body fails a test);
 * GET /v1/tasks/{id} walks the task through its scripted phases, one per poll (or, with a fixed
 * latency, by time: SUCCEEDED L ms after the create); DELETE cancels. Outputs point at this
 * server's /files/clip.mp4, or with `realClips` at an MP4 of the requested duration.
 */
import { RUNWAY_MODELS, type RunwayEndpoint } from "../../shared/providers/runway/runway-models.ts";
import { clipOfSeconds } from "./fake-media.ts";
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { currentPhase, type FakeJobClock, nextScript, type ScriptRule } from "./fixed-latency.ts";

export interface RunwayTaskScript {
  /** Statuses returned one per poll; the last one sticks. Default PENDING, RUNNING, SUCCEEDED. */
  phases?: string[];
  /** RUNNING while this says true, whatever the phases or the latency; then the phases go on. */
  heldWhile?: () => boolean;
  failureCode?: string;
  failure?: string;
  /** SUCCEEDED with no usable output: omitted (true) or a placeholder string. */
  succeededWithoutOutput?: true | "null" | "undefined" | "";
  /** Put the URL in one of the alternative fields instead of output[]. */
  outputField?: "output_url" | "url" | "video_url";
}

export interface RunwayFakeSettings {
  /** Fixed time from create to the last phase; null = one phase per poll. */
  latencyMs?: number | null;
  /** Serve an MP4 of the requested `duration` instead of the 1 s clip. */
  realClips?: boolean;
  /**
   * With realClips, the clip's size: "small" (320x180, cheap to make and render) or "ratio" (the
   * requested ratio's pixels, e.g. 1280x720, as Runway delivers them: shots then join by stream
   * copy; still SMPTE bars, so long films stay small, see clipOfSeconds).
   */
  clipSize?: "small" | "ratio";
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
  const settings: Required<RunwayFakeSettings> = { latencyMs: null, realClips: false, clipSize: "small" };

  const outputFile = (duration: unknown, ratio: unknown) => {
    if (!settings.realClips || typeof duration !== "number") return "clip.mp4";
    const [width, height] = typeof ratio === "string" ? ratio.split(":").map(Number) : [];
    if (settings.clipSize === "ratio" && width > 0 && height > 0) {
      const name = `clip-${duration}s-${width}x${height}.mp4`;
      server.serveFile(name, "video/mp4", () => clipOfSeconds(duration, { width, height }));
      return name;
    }
    const name = `clip-${duration}s.mp4`;
    server.serveFile(name, "video/mp4", () => clipOfSeconds(duration));
    return name;
  };

  const create = (endpoint: RunwayEndpoint) => (request: { body: unknown }) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const problem = runwayBodyProblem(endpoint, body);
    if (problem) return { status: 400, body: { error: problem } };
    const id = crypto.randomUUID();
    server.recordSubmission(body, id);
    created.push(body);
    tasks.set(id, {
      script: nextScript(rules, scripts, body, {}),
      polls: 0,
      createdAt: Date.now(),
      cancelled: false,
      output: outputFile(body.duration, body.ratio),
    });
    return { body: { id } };
  };
  server.route("POST /v1/image_to_video", create("image_to_video"));
  server.route("POST /v1/text_to_video", create("text_to_video"));

  server.route("GET /v1/tasks/:id", ({ params }) => {
    const task = tasks.get(params.id);
    if (!task) return { status: 404, body: { error: "Task not found" } };
    const phases = task.script.phases ?? ["PENDING", "RUNNING", "SUCCEEDED"];
    const status = task.cancelled
      ? "CANCELLED"
      : task.script.heldWhile?.()
      ? "RUNNING"
      : currentPhase(phases, task, settings.latencyMs);
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

const KNOWN_FIELDS = ["model", "promptText", "promptImage", "ratio", "duration", "seed", "contentModeration"];

/** What Runway would answer 400 for in a create body on this endpoint, or null when it takes it. */
export function runwayBodyProblem(endpoint: RunwayEndpoint, body: Record<string, unknown>): string | null {
  const model = String(body.model);
  const rules = Object.hasOwn(RUNWAY_MODELS, model) && !RUNWAY_MODELS[model].retired
    ? RUNWAY_MODELS[model]
    : undefined;
  if (!rules) return `Invalid model: ${model}`;
  const allowed = rules.endpoints[endpoint];
  if (!allowed) return `Model ${model} is not available on /v1/${endpoint}`;
  const unknown = Object.keys(body).filter((key) =>
    !KNOWN_FIELDS.includes(key) ||
    (key === "seed" && !rules.seed) ||
    (key === "contentModeration" && !rules.contentModeration) ||
    (key === "promptImage" && endpoint === "text_to_video")
  );
  if (unknown.length) return `Unrecognized key(s) in object for ${model}: ${unknown.join(", ")}`;
  if (endpoint === "image_to_video" && typeof body.promptImage !== "string") return "promptImage is required";
  if (typeof body.promptText !== "string" || body.promptText.length > 1000) {
    return "promptText must be a string of at most 1000 characters";
  }
  if (!allowed.ratios.includes(String(body.ratio))) {
    return `ratio must be one of: ${allowed.ratios.join(", ")}`;
  }
  if (!allowed.durations.includes(body.duration as number)) {
    return `duration must be one of: ${allowed.durations.join(", ")}`;
  }
  // Documented: seed is an integer in 0..4294967295.
  if (
    body.seed !== undefined &&
    !(Number.isInteger(body.seed) && (body.seed as number) >= 0 && (body.seed as number) <= 4294967295)
  ) {
    return "seed must be an integer between 0 and 4294967295";
  }
  const moderation = body.contentModeration as Record<string, unknown> | undefined;
  if (
    moderation !== undefined &&
    (typeof moderation !== "object" || moderation === null ||
      Object.keys(moderation).some((key) => key !== "publicFigureThreshold") ||
      !["auto", "low", undefined].includes(moderation.publicFigureThreshold as string | undefined))
  ) {
    return `contentModeration.publicFigureThreshold must be one of: auto, low`;
  }
  return null;
}
