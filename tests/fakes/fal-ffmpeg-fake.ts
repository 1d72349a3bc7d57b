/**
 * fal's hosted FFmpeg endpoints as documented (fal.ai/models/fal-ai/ffmpeg-api/*): POST
 * /fal-ai/ffmpeg-api/{merge-videos|merge-audio-video|extract-frame} with `Authorization: Key`,
 * each endpoint's required fields checked (422 as fal answers a missing one); status and result
 * under /fal-ai/ffmpeg-api/requests/{id}; IN_QUEUE on the first status poll, then COMPLETED.
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";

const REQUIRED: Record<string, string[]> = {
  "merge-videos": ["video_urls"],
  "merge-audio-video": ["video_url", "audio_url"],
  "extract-frame": ["video_url"],
};

export interface FalFfmpegFake extends FakeServer {
  submitted: { endpoint: string; input: Record<string, unknown> }[];
}

export async function startFalFfmpegFake(apiKey = "fal-test-key"): Promise<FalFfmpegFake> {
  const server = await startFakeServer({
    authorize: (request) => request.headers.authorization === `Key ${apiKey}`,
  });
  const submitted: FalFfmpegFake["submitted"] = [];
  const requests = new Map<string, { endpoint: string; polls: number }>();

  server.route("POST /fal-ai/ffmpeg-api/:endpoint", ({ params, body }) => {
    const required = REQUIRED[params.endpoint];
    if (!required) return { status: 404, body: { detail: "Application not found" } };
    const input = (body ?? {}) as Record<string, unknown>;
    const missing = required.filter((field) => input[field] === undefined);
    if (missing.length > 0) {
      return {
        status: 422,
        body: {
          detail: missing.map((f) => ({
            loc: ["body", f],
            msg: "field required",
            type: "value_error.missing",
          })),
        },
      };
    }
    submitted.push({ endpoint: params.endpoint, input });
    const id = crypto.randomUUID();
    requests.set(id, { endpoint: params.endpoint, polls: 0 });
    const base = `${server.baseUrl}/fal-ai/ffmpeg-api/requests/${id}`;
    return {
      body: {
        request_id: id,
        status: "IN_QUEUE",
        response_url: base,
        status_url: `${base}/status`,
        cancel_url: `${base}/cancel`,
      },
    };
  });

  server.route("GET /fal-ai/ffmpeg-api/requests/:id/status", ({ params }) => {
    const request = requests.get(params.id);
    if (!request) return { status: 404, body: { detail: "Request not found" } };
    return {
      body: request.polls++ === 0 ? { status: "IN_QUEUE", queue_position: 0 } : { status: "COMPLETED" },
    };
  });

  server.route("GET /fal-ai/ffmpeg-api/requests/:id", ({ params }) => {
    const request = requests.get(params.id);
    if (!request) return { status: 404, body: { detail: "Request not found" } };
    if (request.endpoint === "extract-frame") {
      return { body: { images: [{ url: server.fileUrl("frame.jpg"), content_type: "image/jpeg" }] } };
    }
    return {
      body: {
        video: { url: server.fileUrl("merged.mp4"), content_type: "video/mp4", file_name: "merged.mp4" },
      },
    };
  });

  return Object.assign(server, { submitted });
}
