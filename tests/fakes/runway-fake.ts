/**
 * Runway's dev API as documented: POST /v1/image_to_video and /v1/text_to_video (Bearer key and
 * X-Runway-Version required, ratio checked per model like the real one does) answer {id};
 * GET /v1/tasks/{id} walks the task through its scripted phases, one per poll; DELETE cancels.
 * Outputs point at this server's /files/clip.mp4.
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";

export interface RunwayTaskScript {
  /** Statuses returned one per poll; the last one sticks. Default PENDING, RUNNING, SUCCEEDED. */
  phases?: string[];
  failureCode?: string;
  failure?: string;
  /** SUCCEEDED with no usable output: omitted (true) or a placeholder string. */
  succeededWithoutOutput?: true | "null" | "undefined" | "";
  /** Put the URL in one of the seed's alternative fields instead of output[]. */
  outputField?: "output_url" | "url" | "video_url";
}

const RATIOS: Record<string, string[]> = {
  "gen4.5": ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"],
  gen4_turbo: ["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"],
  "veo3.1": ["1280:720", "720:1280", "1080:1920", "1920:1080"],
  "veo3.1_fast": ["1280:720", "720:1280", "1080:1920", "1920:1080"],
  veo3: ["1280:720", "720:1280", "1080:1920", "1920:1080"],
};

export interface RunwayFake extends FakeServer {
  nextTask(script: RunwayTaskScript): void;
  /** The body of every accepted create, in order. */
  created: Record<string, unknown>[];
}

export async function startRunwayFake(apiKey = "runway-test-key"): Promise<RunwayFake> {
  const server = await startFakeServer({
    authorize: (request) => request.headers.authorization === `Bearer ${apiKey}` && request.headers["x-runway-version"] === "2024-11-06",
  });
  const scripts: RunwayTaskScript[] = [];
  const tasks = new Map<string, { script: RunwayTaskScript; polls: number; cancelled: boolean }>();
  const created: Record<string, unknown>[] = [];

  const create = (request: { body: unknown }) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const ratios = RATIOS[String(body.model)];
    if (!ratios) return { status: 400, body: { error: `Invalid model: ${String(body.model)}` } };
    if (!ratios.includes(String(body.ratio))) return { status: 400, body: { error: `ratio must be one of: ${ratios.join(", ")}` } };
    if (typeof body.promptText === "string" && body.promptText.length > 1000) return { status: 400, body: { error: "promptText too long" } };
    server.recordSubmission(body);
    created.push(body);
    const id = crypto.randomUUID();
    tasks.set(id, { script: scripts.shift() ?? {}, polls: 0, cancelled: false });
    return { body: { id } };
  };
  server.route("POST /v1/image_to_video", create);
  server.route("POST /v1/text_to_video", create);

  server.route("GET /v1/tasks/:id", ({ params }) => {
    const task = tasks.get(params.id);
    if (!task) return { status: 404, body: { error: "Task not found" } };
    const phases = task.script.phases ?? ["PENDING", "RUNNING", "SUCCEEDED"];
    const status = task.cancelled ? "CANCELLED" : phases[Math.min(task.polls++, phases.length - 1)];
    const answer: Record<string, unknown> = { id: params.id, status, createdAt: new Date().toISOString() };
    if (status === "RUNNING") answer.progress = 0.5;
    if (status === "FAILED") Object.assign(answer, { failure: task.script.failure ?? "The generation failed", failureCode: task.script.failureCode ?? "INTERNAL" });
    if (status === "SUCCEEDED") {
      const missing = task.script.succeededWithoutOutput;
      const url = server.fileUrl("clip.mp4");
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
    return { status: 204 };
  });

  return Object.assign(server, { nextTask: (script: RunwayTaskScript) => void scripts.push(script), created });
}
