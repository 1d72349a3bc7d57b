/**
 * sync.so v2 lip sync: POST /v2/generate (x-api-key) takes one video and one audio input and
 * answers the generation; an Idempotency-Key seen before replays that generation instead of
 * starting (and billing) another; GET /v2/generate/{id} walks the scripted statuses one per poll.
 * Outputs point at /files/clip.mp4.
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";

export type SyncStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "REJECTED" | "CANCELED";

export interface SyncGenerationScript {
  /** Default PENDING, PROCESSING, COMPLETED. */
  phases?: SyncStatus[];
  error?: string;
  errorCode?: string;
  withoutOutput?: boolean;
}

export interface SyncFake extends FakeServer {
  nextGeneration(script: SyncGenerationScript): void;
  bodies: Record<string, any>[];
}

export async function startSyncFake(apiKey = "sync-test-key"): Promise<SyncFake> {
  const server = await startFakeServer({ authorize: (request) => request.headers["x-api-key"] === apiKey });
  const scripts: SyncGenerationScript[] = [];
  const generations = new Map<string, { script: SyncGenerationScript; polls: number; body: Record<string, any> }>();
  const byKey = new Map<string, string>();
  const bodies: Record<string, any>[] = [];
  const answer = (id: string, status: SyncStatus) => {
    const { script, body } = generations.get(id)!;
    const failed = ["FAILED", "REJECTED", "CANCELED"].includes(status);
    return {
      id, status, model: body.model, input: body.input, createdAt: new Date().toISOString(),
      outputUrl: status === "COMPLETED" && !script.withoutOutput ? server.fileUrl("clip.mp4") : null,
      error: failed ? script.error ?? "generation failed" : null,
      ...(failed && script.errorCode ? { error_code: script.errorCode } : {}),
    };
  };

  server.route("POST /v2/generate", ({ body, headers }) => {
    const request = (body ?? {}) as Record<string, any>;
    const types = Array.isArray(request.input) ? request.input.map((item: { type?: string }) => item.type).sort().join(",") : "";
    if (types !== "audio,video") return { status: 400, body: { message: "input must hold one video and one audio", statusCode: 400 } };
    const key = headers["idempotency-key"];
    if (typeof key === "string" && byKey.has(key)) return { status: 201, body: answer(byKey.get(key)!, "PENDING") };
    server.recordSubmission(request);
    bodies.push(request);
    const id = crypto.randomUUID();
    generations.set(id, { script: scripts.shift() ?? {}, polls: 0, body: request });
    if (typeof key === "string") byKey.set(key, id);
    return { status: 201, body: answer(id, "PENDING") };
  });

  server.route("GET /v2/generate/:id", ({ params }) => {
    const generation = generations.get(params.id);
    if (!generation) return { status: 404, body: { message: "Generation not found", statusCode: 404 } };
    const phases = generation.script.phases ?? ["PENDING", "PROCESSING", "COMPLETED"];
    return { body: answer(params.id, phases[Math.min(generation.polls++, phases.length - 1)]) };
  });

  return Object.assign(server, { nextGeneration: (script: SyncGenerationScript) => void scripts.push(script), bodies });
}
