/**
 * fal.ai's queue as documented: POST /{model_id}[/{subpath}] (Authorization: Key) answers
 * {request_id, status_url, response_url, cancel_url}; status and result live under the model id
 * without its subpath; a request walks its scripted phases one per status poll (or, with a fixed
 * latency, by time: COMPLETED L ms after the submit); a failed run
 * answers its result with an error status and {detail}; a non-integer `seed` is a 422 like fal's
 * input validation. Images point at /files/frame.png.
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { currentPhase, type FakeJobClock, nextScript, type ScriptRule } from "./fixed-latency.ts";

export interface FalRequestScript {
  /** Default IN_QUEUE, IN_PROGRESS, COMPLETED. */
  phases?: ("IN_QUEUE" | "IN_PROGRESS" | "COMPLETED")[];
  /** The run failed: the result answers this status with {detail}. */
  resultError?: { status: number; detail: string };
  /** The status itself carries error/error_type (newer queue API). */
  statusError?: { error: string; errorType: string };
  nsfw?: boolean;
  withoutOutput?: boolean;
}

export interface FalSubmission {
  modelPath: string;
  input: Record<string, unknown>;
}

export interface FalFake extends FakeServer {
  nextRequest(script: FalRequestScript): void;
  /** Scripts every request whose {modelPath, input} matches, ahead of nextRequest's queue. */
  scriptWhen(match: (submitted: FalSubmission) => boolean, script: FalRequestScript): void;
  /** latencyMs: fixed time from submit to COMPLETED; null = one phase per poll. */
  configure(settings: { latencyMs?: number | null }): void;
  clearScripts(): void;
  /** Submitted inputs by model path, in order. */
  submitted: FalSubmission[];
}

export async function startFalFake(apiKey = "fal-test-key"): Promise<FalFake> {
  const server = await startFakeServer({
    authorize: (request) => request.headers.authorization === `Key ${apiKey}`,
  });
  const scripts: FalRequestScript[] = [];
  const rules: ScriptRule<FalSubmission, FalRequestScript>[] = [];
  const settings = { latencyMs: null as number | null };
  const requests = new Map<
    string,
    FakeJobClock & { appId: string; script: FalRequestScript; cancelled: boolean }
  >();
  const submitted: FalFake["submitted"] = [];

  const submit = ({ params, body }: { params: Record<string, string>; body: unknown }) => {
    const appId = `${params.ns}/${params.app}`;
    const modelPath = params.sub ? `${appId}/${params.sub}` : appId;
    if (typeof (body as { prompt?: unknown })?.prompt !== "string") {
      return {
        status: 422,
        body: { detail: [{ loc: ["body", "prompt"], msg: "field required", type: "value_error.missing" }] },
      };
    }
    const seed = (body as { seed?: unknown }).seed;
    if (seed !== undefined && seed !== null && !(Number.isInteger(seed) && (seed as number) >= 0)) {
      return {
        status: 422,
        body: {
          detail: [{
            loc: ["body", "seed"],
            msg: "value is not a valid integer",
            type: "type_error.integer",
          }],
        },
      };
    }
    const id = crypto.randomUUID();
    server.recordSubmission({ modelPath, body }, id);
    submitted.push({ modelPath, input: body as Record<string, unknown> });
    const script = nextScript(rules, scripts, { modelPath, input: body as Record<string, unknown> }, {});
    requests.set(id, { appId, script, polls: 0, createdAt: Date.now(), cancelled: false });
    const base = `${server.baseUrl}/${appId}/requests/${id}`;
    return {
      body: {
        request_id: id,
        status: "IN_QUEUE",
        response_url: base,
        status_url: `${base}/status`,
        cancel_url: `${base}/cancel`,
        queue_position: 0,
      },
    };
  };
  server.route("POST /:ns/:app", submit);
  server.route("POST /:ns/:app/:sub", submit);

  const find = (params: Record<string, string>) => {
    const request = requests.get(params.id);
    return request && request.appId === `${params.ns}/${params.app}` ? request : undefined;
  };

  server.route("GET /:ns/:app/requests/:id/status", ({ params }) => {
    const request = find(params);
    if (!request) return { status: 404, body: { detail: "Request not found" } };
    const phases = request.script.phases ?? ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"];
    const status = request.cancelled ? "COMPLETED" : currentPhase(phases, request, settings.latencyMs);
    const error = request.script.statusError;
    return {
      body: {
        status,
        ...(status === "IN_QUEUE" ? { queue_position: 2 } : {}),
        ...(status === "COMPLETED" && error ? { error: error.error, error_type: error.errorType } : {}),
      },
    };
  });

  server.route("GET /:ns/:app/requests/:id", ({ params }) => {
    const request = find(params);
    if (!request) return { status: 404, body: { detail: "Request not found" } };
    const { script } = request;
    if (request.cancelled) return { status: 400, body: { detail: "Request was cancelled" } };
    if (script.resultError) {
      return { status: script.resultError.status, body: { detail: script.resultError.detail } };
    }
    const images = script.withoutOutput
      ? []
      : [{ url: server.fileUrl("frame.png"), width: 1024, height: 576, content_type: "image/png" }];
    return { body: { images, seed: 42, has_nsfw_concepts: [script.nsfw ?? false], prompt: "" } };
  });

  server.route("PUT /:ns/:app/requests/:id/cancel", ({ params }) => {
    const request = find(params);
    if (!request) return { status: 404, body: { detail: "Request not found" } };
    request.cancelled = true;
    return { status: 202, body: { status: "CANCELLATION_REQUESTED" } };
  });

  return Object.assign(server, {
    nextRequest: (script: FalRequestScript) => void scripts.push(script),
    scriptWhen: (match: (submitted: FalSubmission) => boolean, script: FalRequestScript) =>
      void rules.push({ match, script }),
    configure: (next: { latencyMs?: number | null }) => void Object.assign(settings, next),
    clearScripts() {
      scripts.length = 0;
      rules.length = 0;
    },
    submitted,
  });
}
