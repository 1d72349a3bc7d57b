import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFalImage, type FalImageOptions } from "../../../shared/providers/fal/fal-image.ts";
import { falAppId } from "../../../shared/providers/fal/fal-queue.ts";
import { ProviderInputError } from "../../../shared/providers/provider-errors.ts";
import type { ImageProvider, ImageRequest, JobState, UrlOutput } from "../../../shared/providers/types.ts";
import { type FalFake, startFalFake } from "../../fakes/fal-fake.ts";

describe("fal image adapter against the fal queue fake", () => {
  let fake: FalFake;
  let waits: number[];
  const request: ImageRequest = {
    prompt: "A foggy harbour at dawn, wide shot",
    width: 1024,
    height: 576,
    seed: 7,
    purpose: "location",
  };
  const images = (overrides: Partial<FalImageOptions> = {}): ImageProvider =>
    createFalImage({
      apiKey: "fal-test-key",
      model: "fal-ai/flux/dev",
      baseUrl: fake.baseUrl,
      allowInsecureUrls: true,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
      ...overrides,
    });
  const pollUntilDone = async (provider: ImageProvider, jobId: string) => {
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const state: JobState<UrlOutput> = await provider.poll(jobId);
      seen.push(state.state);
      if (state.state === "succeeded" || state.state === "failed") return { state, seen };
    }
    throw new Error("never finished");
  };

  beforeEach(async () => {
    fake = await startFalFake();
    waits = [];
  });
  afterEach(() => fake.close());

  it("drops the subpath for status and result URLs", () => {
    expect(falAppId("fal-ai/flux/dev")).toBe("fal-ai/flux");
    expect(falAppId("fal-ai/flux-pro/v1.1-ultra")).toBe("fal-ai/flux-pro");
    expect(falAppId("fal-ai/fast-sdxl")).toBe("fal-ai/fast-sdxl");
  });

  it("submits to the model path, polls the app's request, and returns the image URL", async () => {
    const provider = images();
    const { state, seen } = await pollUntilDone(provider, await provider.submit(request));
    expect(seen).toEqual(["pending", "running", "succeeded"]);
    expect(state).toEqual({
      state: "succeeded",
      output: { url: fake.fileUrl("frame.png"), contentType: "image/png" },
    });
    expect(fake.submitted[0]).toEqual({
      modelPath: "fal-ai/flux/dev",
      input: {
        prompt: request.prompt,
        image_size: "landscape_16_9",
        num_images: 1,
        output_format: "png",
        enable_safety_checker: true,
        seed: 7,
      },
    });
  });

  it("sends a side flux cannot render as the nearest it can: an offline film's 640x360 frame", async () => {
    await images({ model: "fal-ai/flux/schnell" }).submit({ ...request, width: 640, height: 360 });
    // Before: refused ("each side must be a multiple of 16"), so every location image of a film
    // with fal images and offline clips failed.
    expect(fake.submitted[0].input).toMatchObject({ image_size: { width: 640, height: 368 } });
  });

  it("sends a custom size when no preset matches, and an aspect ratio to the ultra model", async () => {
    await images({ model: "fal-ai/flux/schnell", numInferenceSteps: 4 }).submit({
      ...request,
      width: 1280,
      height: 720,
    });
    await images({ model: "fal-ai/flux-pro/v1.1-ultra" }).submit({ ...request, width: 1280, height: 720 });
    expect(fake.submitted[0]).toMatchObject({
      modelPath: "fal-ai/flux/schnell",
      input: { image_size: { width: 1280, height: 720 }, num_inference_steps: 4 },
    });
    expect(fake.submitted[1]).toMatchObject({
      modelPath: "fal-ai/flux-pro/v1.1-ultra",
      input: { aspect_ratio: "16:9" },
    });
    expect(fake.submitted[1].input).not.toHaveProperty("image_size");
  });

  it.each([
    ["an empty prompt", { prompt: " " }, /prompt is empty/],
    ["a side that is not a whole number", { width: 1000.5 }, /whole number of pixels/],
    ["a side over 2048", { height: 4096 }, /256\.\.2048/],
    ["a negative seed", { seed: -1 }, /seed must be a whole number/],
    ["a seed that is not a whole number", { seed: 2.5 }, /seed must be a whole number/],
  ])("refuses %s before any call", async (_, change, message) => {
    await expect(images().submit({ ...request, ...change })).rejects.toThrow(message);
    expect(fake.submissions().total).toBe(0);
  });

  it("refuses an aspect ratio the ultra model does not have, and an unknown model", async () => {
    expect(() =>
      images({ model: "fal-ai/flux-pro/v1.1-ultra" }).validate({ ...request, width: 1024, height: 640 })
    ).toThrow(/8:5 is not|not one of the aspect ratios/);
    expect(() => images({ model: "fal-ai/sdxl" }).validate(request)).toThrow(ProviderInputError);
  });

  it("reports a failed run from its result's error status", async () => {
    fake.nextRequest({ phases: ["COMPLETED"], resultError: { status: 422, detail: "image_size too large" } });
    const provider = images();
    expect(await provider.poll(await provider.submit(request))).toEqual({
      state: "failed",
      failureCode: "invalid_request",
      message: "fal HTTP 422 invalid_request: image_size too large",
    });
  });

  it("reports a failed run from the status's error fields", async () => {
    fake.nextRequest({
      phases: ["COMPLETED"],
      statusError: { error: "Runner crashed", errorType: "runner_error" },
    });
    const provider = images();
    expect(await provider.poll(await provider.submit(request))).toEqual({
      state: "failed",
      failureCode: "runner_error",
      message: "Runner crashed",
    });
  });

  it("fails an image flagged by the safety checker, and a result without images", async () => {
    fake.nextRequest({ phases: ["COMPLETED"], nsfw: true });
    fake.nextRequest({ phases: ["COMPLETED"], withoutOutput: true });
    const provider = images();
    expect(await provider.poll(await provider.submit(request))).toMatchObject({
      state: "failed",
      failureCode: "nsfw_content",
    });
    expect(await provider.poll(await provider.submit({ ...request, seed: 8 }))).toMatchObject({
      state: "failed",
      failureCode: "missing_output",
    });
  });

  it("retries a 429 on submit honouring Retry-After as an HTTP date, and submits once", async () => {
    const inThreeSeconds = new Date(Date.now() + 3_000).toUTCString();
    fake.fault("POST /:ns/:app/:sub", { status: 429, retryAfter: inThreeSeconds });
    await images().submit(request);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(1_000);
    expect(waits[0]).toBeLessThanOrEqual(3_000);
    expect(fake.submissions()).toEqual({ total: 1, maxPerInput: 1, inputs: 1 });
  });

  it("retries 5xx and dropped connections while polling", async () => {
    const provider = images();
    const jobId = await provider.submit(request);
    fake.fault("GET /:ns/:app/requests/:id/status", { status: 504 }, { drop: true });
    expect((await provider.poll(jobId)).state).toBe("pending");
    expect(waits).toEqual([500, 1000]);
  });

  it("cancels with PUT .../cancel and ignores a request that is gone", async () => {
    const provider = images();
    const jobId = await provider.submit(request);
    await provider.cancel(jobId);
    expect(fake.hits("PUT /:ns/:app/requests/:id/cancel")).toBe(1);
    await expect(provider.cancel("unknown")).resolves.toBeUndefined();
  });

  it("sends the key as `Key ...` (a wrong one is unauthorized)", async () => {
    await expect(images({ apiKey: "wrong" }).submit(request)).rejects.toMatchObject({
      provider: "fal",
      httpStatus: 401,
      failureCode: "unauthorized",
    });
  });
});
