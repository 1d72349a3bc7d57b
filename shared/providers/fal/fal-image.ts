/**
 * Flux images through fal.ai's queue: locations, characters, the poster, and end frames when no
 * render worker can extract a clip's real last frame. Uses the shared fal-queue client (thin
 * fetch; see there for why not @fal-ai/client, and the queue facts relied on).
 *
 * Model facts relied on (fal.ai model pages for fal-ai/flux/dev, fal-ai/flux/schnell,
 * fal-ai/flux-pro/v1.1): input {prompt, image_size: preset name or {width, height}, num_images,
 * seed, enable_safety_checker, num_inference_steps?, output_format}; fal-ai/flux-pro/v1.1-ultra
 * takes `aspect_ratio` instead of image_size. Output {images: [{url, width, height,
 * content_type}], seed, has_nsfw_concepts: boolean[]}; a flagged image comes back black, so it is
 * a failure here.
 */
import { z } from "zod";
import type { AdapterOptions } from "../adapter-options.ts";
import { outputUrlState } from "../http/media-url.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { ImageProvider, ImageRequest, JobState, UrlOutput } from "../types.ts";
import { createFalQueue } from "./fal-queue.ts";

export const FAL_IMAGE_MODELS = [
  "fal-ai/flux/dev",
  "fal-ai/flux/schnell",
  "fal-ai/flux-pro/v1.1",
  "fal-ai/flux-pro/v1.1-ultra",
] as const;

const PRESETS: Record<string, string> = {
  "1024x1024": "square_hd",
  "512x512": "square",
  "1024x768": "landscape_4_3",
  "768x1024": "portrait_4_3",
  "1024x576": "landscape_16_9",
  "576x1024": "portrait_16_9",
};
const ULTRA_RATIOS = ["21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"];
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
/**
 * The side flux renders for a requested one: the nearest multiple of 16. A film's frame need not
 * be one (offline clips are 640x360, a Veo portrait 1080x1920), and its location images are asked
 * at its frame's size: refused before, every location image of such a film failed.
 */
const fluxSide = (side: number) => Math.round(side / 16) * 16;
const ratioOf = (w: number, h: number) => `${w / gcd(w, h)}:${h / gcd(w, h)}`;

const outputSchema = z.looseObject({
  images: z.array(z.looseObject({ url: z.string(), content_type: z.string().nullish() })),
  has_nsfw_concepts: z.array(z.boolean()).nullish(),
});

export interface FalImageOptions extends AdapterOptions {
  numInferenceSteps?: number;
  enableSafetyChecker?: boolean;
}

export function createFalImage(options: FalImageOptions): ImageProvider {
  const { model } = options;
  const queue = createFalQueue(options);
  const ultra = model.endsWith("-ultra");

  const validate = (request: ImageRequest) => {
    const fail = (message: string) => {
      throw new ProviderInputError("fal", model, message);
    };
    if (!(FAL_IMAGE_MODELS as readonly string[]).includes(model)) {
      fail(`unknown model; use one of ${FAL_IMAGE_MODELS.join(", ")}`);
    }
    if (request.prompt.trim() === "") fail("prompt is empty");
    const { width, height } = request;
    // Our bounds, not fal's: larger images only cost more. Sent to the nearest multiple of 16.
    if (
      ![width, height].every((side) =>
        Number.isInteger(side) && fluxSide(side) >= 256 && fluxSide(side) <= 2048
      )
    ) {
      fail(`size ${width}x${height}: each side must be a whole number of pixels in 256..2048`);
    }
    if (ultra && !ULTRA_RATIOS.includes(ratioOf(width, height))) {
      fail(`size ${width}x${height} is not one of the aspect ratios ${ULTRA_RATIOS.join(", ")}`);
    }
    if (request.seed !== undefined && !(Number.isInteger(request.seed) && request.seed >= 0)) {
      fail("seed must be a whole number, 0 or more");
    }
  };

  const input = (request: ImageRequest) => ({
    prompt: request.prompt,
    ...(ultra ? { aspect_ratio: ratioOf(request.width, request.height) } : {
      image_size: PRESETS[`${fluxSide(request.width)}x${fluxSide(request.height)}`] ??
        { width: fluxSide(request.width), height: fluxSide(request.height) },
    }),
    num_images: 1,
    output_format: "png",
    enable_safety_checker: options.enableSafetyChecker ?? true,
    ...(options.numInferenceSteps === undefined || ultra
      ? {}
      : { num_inference_steps: options.numInferenceSteps }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
  });

  return {
    provider: "fal",
    model,
    validate,
    async submit(request) {
      validate(request);
      return await queue.submit(model, input(request));
    },
    async poll(jobId): Promise<JobState<UrlOutput>> {
      const state = await queue.poll(model, jobId, outputSchema);
      if (state.state !== "succeeded") return state;
      if (state.output.has_nsfw_concepts?.[0]) {
        return {
          state: "failed",
          failureCode: "nsfw_content",
          message: "fal's safety checker flagged the image",
        };
      }
      const image = state.output.images[0];
      return outputUrlState("fal", image?.url, image?.content_type ?? "image/png", options.allowInsecureUrls);
    },
    cancel: (jobId) => queue.cancel(model, jobId),
  };
}
