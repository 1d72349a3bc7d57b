/**
 * Beatoven's composition API: POST /api/v1/tracks/compose (Bearer) answers {status: "started",
 * task_id}; GET /api/v1/tasks/{task_id} walks the scripted statuses one per poll and, once
 * "composed", carries meta.track_url (this server's /files/track.mp3).
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";

export interface BeatovenTaskScript {
  /** Default started, composing, composed. */
  phases?: string[];
  withoutTrackUrl?: boolean;
}

export interface BeatovenFake extends FakeServer {
  nextTask(script: BeatovenTaskScript): void;
  bodies: Record<string, any>[];
}

export async function startBeatovenFake(apiKey = "beatoven-test-key"): Promise<BeatovenFake> {
  const server = await startFakeServer({ authorize: (request) => request.headers.authorization === `Bearer ${apiKey}` });
  const scripts: BeatovenTaskScript[] = [];
  const tasks = new Map<string, { script: BeatovenTaskScript; polls: number; trackId: string; prompt: unknown }>();
  const bodies: Record<string, any>[] = [];

  server.route("POST /api/v1/tracks/compose", ({ body }) => {
    const request = (body ?? {}) as Record<string, any>;
    if (typeof request.prompt?.text !== "string" || request.prompt.text === "") return { status: 400, body: { error: "prompt.text is required" } };
    if (request.format !== undefined && !["mp3", "aac", "wav"].includes(request.format)) return { status: 400, body: { error: "format must be mp3, aac or wav" } };
    server.recordSubmission(request);
    bodies.push(request);
    const trackId = crypto.randomUUID();
    const taskId = `${trackId}_1`;
    tasks.set(taskId, { script: scripts.shift() ?? {}, polls: 0, trackId, prompt: request.prompt });
    return { body: { status: "started", task_id: taskId } };
  });

  server.route("GET /api/v1/tasks/:id", ({ params }) => {
    const task = tasks.get(params.id);
    if (!task) return { status: 404, body: { error: "task not found" } };
    const phases = task.script.phases ?? ["started", "composing", "composed"];
    const status = phases[Math.min(task.polls++, phases.length - 1)];
    if (status !== "composed") return { body: { status } };
    const meta = { project_id: crypto.randomUUID(), track_id: task.trackId, prompt: task.prompt, version: 1, ...(task.script.withoutTrackUrl ? {} : { track_url: server.fileUrl("track.mp3") }) };
    return { body: { status, meta } };
  });

  return Object.assign(server, { nextTask: (script: BeatovenTaskScript) => void scripts.push(script), bodies });
}
