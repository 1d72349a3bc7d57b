import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProviderError, ProviderInputError } from "../../../shared/providers/provider-errors.ts";
import { createRunwayVideo, type RunwayVideoOptions } from "../../../shared/providers/runway/runway-video.ts";
import type { VideoProvider, VideoRequest } from "../../../shared/providers/types.ts";
import { type RunwayFake, startRunwayFake } from "../../fakes/runway-fake.ts";

const CREATE = "POST /v1/image_to_video";

describe("runway video adapter against the Runway fake", () => {
  let fake: RunwayFake;
  let waits: number[];
  let request: VideoRequest;

  const adapter = (overrides: Partial<RunwayVideoOptions> = {}): VideoProvider =>
    createRunwayVideo({
      apiKey: "runway-test-key",
      model: "gen4_turbo",
      baseUrl: fake.baseUrl,
      allowInsecureUrls: true,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
      ...overrides,
    });

  const pollUntilDone = async (video: VideoProvider, jobId: string) => {
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const state = await video.poll(jobId);
      seen.push(state.state === "pending" && state.detail ? `pending:${state.detail}` : state.state);
      if (state.state === "succeeded" || state.state === "failed") return { state, seen };
    }
    throw new Error(`never finished: ${seen.join(",")}`);
  };

  beforeEach(async () => {
    fake = await startRunwayFake();
    waits = [];
    request = {
      promptText: "A lighthouse at dusk, slow push in",
      promptImage: fake.fileUrl("frame.png"),
      ratio: "1280:720",
      durationSeconds: 5,
    };
  });
  afterEach(() => fake.close());

  it("submits image_to_video with the version header and returns the clip URL once SUCCEEDED", async () => {
    const video = adapter();
    const jobId = await video.submit(request);
    const { state, seen } = await pollUntilDone(video, jobId);
    expect(seen).toEqual(["pending", "running", "succeeded"]);
    expect(state).toEqual({
      state: "succeeded",
      output: { url: fake.fileUrl("clip.mp4"), contentType: "video/mp4" },
    });
    expect(fake.created[0]).toEqual({
      model: "gen4_turbo",
      promptText: request.promptText,
      ratio: "1280:720",
      duration: 5,
      promptImage: request.promptImage,
    });
  });

  it("puts a seed on the wire", async () => {
    await adapter().submit({ ...request, seed: 4294967295 });
    expect(fake.created[0]).toMatchObject({ seed: 4294967295 });
  });

  it("puts registered settings on the wire, and a seed never on a Veo model", async () => {
    const settings = { ratio: "1104:832", duration: 7, seed: 12, publicFigureThreshold: "low" as const };
    await adapter({ settings }).submit(request);
    expect(fake.created[0]).toMatchObject({
      ratio: "1104:832",
      duration: 7,
      seed: 12,
      contentModeration: { publicFigureThreshold: "low" },
    });
    await adapter({ model: "veo3.1" }).submit({ ...request, ratio: "1920:1080", durationSeconds: 8 });
    expect(fake.created[1]).not.toHaveProperty("seed");
    await expect(adapter({ model: "veo3.1", settings: { seed: 12 } }).submit(request)).rejects.toThrow(
      /settings\.seed: runway veo3\.1 takes no seed/,
    );
    expect(fake.created).toHaveLength(2);
  });

  it("the fake answers 400 for a body Runway would refuse, so a wrong adapter fails here", async () => {
    const post = (path: string, body: Record<string, unknown>) =>
      fetch(`${fake.baseUrl}${path}`, {
        method: "POST",
        headers: {
          authorization: "Bearer runway-test-key",
          "x-runway-version": "2024-11-06",
          "content-type": "application/json",
        },
        body: JSON.stringify(body),
      });
    const wrong = await post("/v1/text_to_video", {
      model: "gen4.5",
      promptText: "Rain",
      ratio: "1104:832",
      duration: 5,
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: "ratio must be one of: 1280:720, 720:1280" });
    const seeded = await post("/v1/image_to_video", {
      model: "veo3",
      promptText: "Rain",
      promptImage: request.promptImage,
      ratio: "1280:720",
      duration: 8,
      seed: 1,
    });
    expect(seeded.status).toBe(400);
    expect(fake.created).toHaveLength(0);
  });

  it("uses text_to_video when there is no promptImage and the model has it", async () => {
    const video = adapter({ model: "veo3.1" });
    await video.submit({ promptText: "Rain on a tin roof", ratio: "1920:1080", durationSeconds: 6 });
    expect(fake.hits("POST /v1/text_to_video")).toBe(1);
    expect(fake.hits(CREATE)).toBe(0);
  });

  it.each([
    ["a ratio the model does not take", { ratio: "1280:768" }, /ratio 1280:768 is not one of/],
    ["a bare aspect ratio 16:9", { ratio: "16:9" }, /ratio 16:9/],
    ["a duration the model does not take", { durationSeconds: 11 }, /duration 11s is not one of 2, 3, 4/],
    ["a prompt over 1000 characters", { promptText: "x".repeat(1001) }, /over 1000/],
    ["no image on an image-only model", { promptImage: undefined }, /no text_to_video/],
    ["a seed that is not a whole number", { seed: 1.5 }, /seed must be an integer/],
    ["a seed over 4294967295", { seed: 4294967296 }, /seed must be an integer/],
  ])("refuses %s before any call", async (_, change, message) => {
    const video = adapter();
    expect(() => video.validate({ ...request, ...change })).toThrow(message);
    await expect(video.submit({ ...request, ...change })).rejects.toBeInstanceOf(ProviderInputError);
    expect(fake.submissions().total).toBe(0);
  });

  it("refuses the retired gen3a_turbo with the models to use instead", () => {
    expect(() => adapter({ model: "gen3a_turbo" }).validate(request)).toThrow(
      /retired; use one of gen4\.5, gen4_turbo/,
    );
  });

  it("checks the promptImage with HEAD first: wrong type, missing, or slow means no paid call", async () => {
    fake.route("HEAD /images/notes.txt", () => ({ headers: { "content-type": "text/plain" } }), {
      open: true,
    });
    fake.route("HEAD /images/slow.png", () => ({ headers: { "content-type": "image/png" } }), { open: true });
    fake.route("HEAD /images/moved.png", () => ({ status: 302, headers: { location: "/files/frame.png" } }), {
      open: true,
    });
    fake.fault("HEAD /images/slow.png", { delayMs: 500 });
    const video = adapter({ imageCheckTimeoutMs: 100 });
    await expect(video.submit({ ...request, promptImage: `${fake.baseUrl}/images/notes.txt` })).rejects
      .toThrow(/serves text\/plain, not image/);
    await expect(video.submit({ ...request, promptImage: `${fake.baseUrl}/files/missing.png` })).rejects
      .toThrow(/HTTP 404/);
    await expect(video.submit({ ...request, promptImage: `${fake.baseUrl}/images/moved.png` })).rejects
      .toThrow(/redirects \(HTTP 302\)/);
    await expect(video.submit({ ...request, promptImage: `${fake.baseUrl}/images/slow.png` })).rejects
      .toMatchObject({ failureCode: "input_url_timeout", retryable: true });
    expect(fake.submissions().total).toBe(0);
  });

  it("refuses an http promptImage in production mode", async () => {
    await expect(adapter({ allowInsecureUrls: false }).submit(request)).rejects.toThrow(/must be https/);
    expect(fake.submissions().total).toBe(0);
  });

  it("keeps polling through THROTTLED: it is Runway's queue, not an error", async () => {
    fake.nextTask({ phases: ["PENDING", "THROTTLED", "THROTTLED", "RUNNING", "SUCCEEDED"] });
    const video = adapter();
    const { state, seen } = await pollUntilDone(video, await video.submit(request));
    expect(seen).toEqual(["pending", "pending:throttled", "pending:throttled", "running", "succeeded"]);
    expect(state.state).toBe("succeeded");
  });

  it("reports FAILED with Runway's failureCode", async () => {
    fake.nextTask({
      phases: ["RUNNING", "FAILED"],
      failureCode: "SAFETY.INPUT.TEXT",
      failure: "Prompt flagged",
    });
    const video = adapter();
    const { state } = await pollUntilDone(video, await video.submit(request));
    expect(state).toEqual({ state: "failed", failureCode: "SAFETY.INPUT.TEXT", message: "Prompt flagged" });
  });

  it.each([[true], ["null"], ["undefined"], [""]] as const)(
    "treats SUCCEEDED without a usable output (%j) as a failure",
    async (missing) => {
      fake.nextTask({ phases: ["SUCCEEDED"], succeededWithoutOutput: missing });
      const video = adapter();
      const state = await video.poll(await video.submit(request));
      expect(state).toMatchObject({ state: "failed", failureCode: "missing_output" });
    },
  );

  it.each(["output_url", "url", "video_url"] as const)(
    "finds the URL in the alternative output field %s",
    async (field) => {
      fake.nextTask({ phases: ["SUCCEEDED"], outputField: field });
      const video = adapter();
      expect(await video.poll(await video.submit(request))).toMatchObject({
        state: "succeeded",
        output: { url: fake.fileUrl("clip.mp4") },
      });
    },
  );

  it("does not retry a 429 on create: the daily quota is spent", async () => {
    fake.fault(CREATE, { status: 429, retryAfter: 1 });
    const error = await adapter().submit(request).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      provider: "runway",
      httpStatus: 429,
      failureCode: "daily_quota",
      retryable: false,
    });
    expect(fake.hits(CREATE)).toBe(1);
    expect(waits).toEqual([]);
  });

  it("retries load shedding on create, honouring Retry-After, and submits once", async () => {
    fake.fault(CREATE, { status: 503, retryAfter: 2 }, { status: 502 });
    const jobId = await adapter().submit(request);
    expect(jobId).toBeTruthy();
    expect(waits).toEqual([2000, 1000]); // Retry-After, then full jitter at random()=1: base 500 · 2
    expect(fake.hits(CREATE)).toBe(3);
    expect(fake.submissions()).toEqual({ total: 1, maxPerInput: 1, inputs: 1 });
  });

  it("does not resubmit when a create times out: the job may exist, so the error is not retryable", async () => {
    fake.fault(CREATE, { delayMs: 400 });
    const error = await adapter({ timeoutMs: 100 }).submit(request).catch((e) => e);
    expect(error).toMatchObject({ failureCode: "submit_outcome_unknown", retryable: false });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fake.hits(CREATE)).toBe(1);
    expect(fake.submissions().maxPerInput).toBe(1);
  });

  it("retries a slow or failing poll, since reading a task is safe to repeat", async () => {
    const video = adapter({ timeoutMs: 150 });
    const jobId = await video.submit(request);
    fake.fault("GET /v1/tasks/:id", { delayMs: 400 }, { status: 500 }, { status: 429, retryAfter: "3" });
    expect((await video.poll(jobId)).state).toBe("pending");
    expect(waits).toEqual([500, 1000, 3000]);
  });

  it("gives up after the attempt budget with the last error, still retryable for the task engine", async () => {
    const video = adapter();
    const jobId = await video.submit(request);
    fake.fault("GET /v1/tasks/:id", { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    await expect(video.poll(jobId)).rejects.toMatchObject({
      httpStatus: 503,
      failureCode: "overloaded",
      retryable: true,
    });
    expect(waits).toHaveLength(3);
  });

  it("hands a Retry-After longer than a slice can sleep to the task engine", async () => {
    const video = adapter();
    const jobId = await video.submit(request);
    fake.fault("GET /v1/tasks/:id", { status: 429, retryAfter: 600 });
    await expect(video.poll(jobId)).rejects.toMatchObject({ retryable: true, retryAfterMs: 600_000 });
    expect(waits).toEqual([]);
  });

  it("names provider, status and Runway's own message when the API refuses a request", async () => {
    fake.fault(CREATE, { status: 400, body: { error: "promptImage could not be fetched" } });
    const error = await adapter().submit(request).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ httpStatus: 400, failureCode: "invalid_request", retryable: false });
    expect(error.message).toBe("runway HTTP 400 invalid_request: promptImage could not be fetched");
    expect(fake.hits(CREATE)).toBe(1);
  });

  it("cancels with DELETE and the task then reads CANCELLED", async () => {
    const video = adapter();
    const jobId = await video.submit(request);
    await video.cancel(jobId);
    expect(await video.poll(jobId)).toMatchObject({ state: "failed", failureCode: "CANCELLED" });
    await expect(video.cancel("no-such-task")).resolves.toBeUndefined();
  });

  it("reports a wrong API key as unauthorized, not retried", async () => {
    await expect(adapter({ apiKey: "wrong" }).submit(request)).rejects.toMatchObject({
      httpStatus: 401,
      failureCode: "unauthorized",
      retryable: false,
    });
    expect(waits).toEqual([]);
  });
});
