import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createOpenAiLlm, type OpenAiLlmOptions } from "../../../shared/providers/openai/openai-llm.ts";
import { ProviderError, ProviderInputError } from "../../../shared/providers/provider-errors.ts";
import type { JsonRequest } from "../../../shared/providers/types.ts";
import { type OpenAiFake, startOpenAiFake } from "../../fakes/openai-fake.ts";

const ROUTE = "POST /v1/chat/completions";

// The film's scene fields, cut down: enough nesting to exercise strict mode.
const sceneSchema = z.object({
  scene_number: z.number().int().min(1),
  header: z.object({ location: z.string(), time: z.enum(["day", "night"]) }),
  dialogue: z.array(z.object({ character: z.string(), line: z.string() })),
  visual_prompt: z.string(),
});
const screenplaySchema = z.object({ scenes: z.array(sceneSchema).min(1) });
const strictObject = (properties: Record<string, unknown>) => ({
  type: "object",
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const screenplayJsonSchema = strictObject({
  scenes: {
    type: "array",
    items: strictObject({
      scene_number: { type: "integer", minimum: 1 },
      header: strictObject({
        location: { type: "string" },
        time: { type: "string", enum: ["day", "night"] },
      }),
      dialogue: {
        type: "array",
        items: strictObject({ character: { type: "string" }, line: { type: "string" } }),
      },
      visual_prompt: { type: "string" },
    }),
  },
});

describe("openai llm adapter against the chat completions fake", () => {
  let fake: OpenAiFake;
  let waits: number[];
  const request: JsonRequest<z.infer<typeof screenplaySchema>> = {
    name: "screenplay",
    schema: screenplayJsonSchema,
    parse: screenplaySchema,
    system: "You write screenplays.",
    user: "A lighthouse keeper's last night.",
    maxTokens: 4000,
    temperature: 0.7,
  };
  const llm = (overrides: Partial<OpenAiLlmOptions> = {}) =>
    createOpenAiLlm({
      apiKey: "openai-test-key",
      model: "gpt-4.1-mini",
      baseUrl: `${fake.baseUrl}/v1`,
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
      ...overrides,
    });

  beforeEach(async () => {
    fake = await startOpenAiFake();
    waits = [];
  });
  afterEach(() => fake.close());

  it("sends a strict json_schema response_format and returns the parsed screenplay with usage", async () => {
    const { value, usage } = await llm().generateJson(request);
    expect(value.scenes[0]).toEqual({
      scene_number: 1,
      header: { location: "text", time: "day" },
      dialogue: [{ character: "text", line: "text" }],
      visual_prompt: "text",
    });
    expect(usage.promptTokens).toBe(120);
    expect(usage.completionTokens).toBeGreaterThan(0);
    expect(fake.requests[0]).toMatchObject({
      model: "gpt-4.1-mini",
      response_format: {
        type: "json_schema",
        json_schema: { name: "screenplay", strict: true, schema: screenplayJsonSchema },
      },
      max_completion_tokens: 4000,
      temperature: 0.7,
      messages: [{ role: "system", content: "You write screenplays." }, {
        role: "user",
        content: "A lighthouse keeper's last night.",
      }],
    });
  });

  it("sends max_tokens instead for compatible servers that want it", async () => {
    await llm({ tokenLimitField: "max_tokens" }).generateJson(request);
    expect(fake.requests[0]).toHaveProperty("max_tokens", 4000);
    expect(fake.requests[0]).not.toHaveProperty("max_completion_tokens");
  });

  it("treats a truncated answer (finish_reason length) as an error, not half a screenplay", async () => {
    fake.nextCompletion({ finishReason: "length" });
    await expect(llm().generateJson(request)).rejects.toMatchObject({
      provider: "openai",
      failureCode: "truncated",
      retryable: false,
    });
  });

  it("treats a refusal as an error carrying the model's words", async () => {
    fake.nextCompletion({ refusal: "I can't help with that." });
    const error = await llm().generateJson(request).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ failureCode: "refusal" });
    expect(error.message).toContain("I can't help with that.");
  });

  it("treats a content filter stop as an error", async () => {
    fake.nextCompletion({ finishReason: "content_filter" });
    await expect(llm().generateJson(request)).rejects.toMatchObject({ failureCode: "content_filter" });
  });

  it("rejects an answer that parses but breaks the zod schema, naming the field", async () => {
    fake.nextCompletion({
      content: {
        scenes: [{
          scene_number: 0,
          header: { location: "x", time: "day" },
          dialogue: [],
          visual_prompt: "v",
        }],
      },
    });
    await expect(llm().generateJson(request)).rejects.toMatchObject({
      failureCode: "schema_mismatch",
      message: expect.stringContaining("scenes.0.scene_number"),
    });
  });

  it("rejects content that is not JSON", async () => {
    fake.nextCompletion({ content: "Here is your screenplay: {" });
    await expect(llm().generateJson(request)).rejects.toMatchObject({ failureCode: "invalid_json" });
  });

  it("refuses a non-strict schema before any call", async () => {
    const loose = { ...screenplayJsonSchema, additionalProperties: true };
    const optional = strictObject({ a: { type: "string" }, b: { type: "string" } });
    optional.required = ["a"];
    await expect(llm().generateJson({ ...request, schema: loose })).rejects.toThrow(
      /\$ must set additionalProperties: false/,
    );
    await expect(
      llm().generateJson({
        ...request,
        schema: {
          type: "object",
          properties: { scene: optional },
          required: ["scene"],
          additionalProperties: false,
        },
      }),
    )
      .rejects.toThrow(/\$\.scene must list every property as required \(missing: b\)/);
    await expect(llm().generateJson({ ...request, name: "screen play" })).rejects.toBeInstanceOf(
      ProviderInputError,
    );
    expect(fake.hits(ROUTE)).toBe(0);
  });

  it("retries 429 and 5xx honouring Retry-After, then succeeds", async () => {
    fake.fault(ROUTE, {
      status: 429,
      retryAfter: 2,
      body: { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
    }, { status: 500 });
    const { value } = await llm().generateJson(request);
    expect(value.scenes).toHaveLength(1);
    expect(waits).toEqual([2000, 1000]);
    expect(fake.hits(ROUTE)).toBe(3);
  });

  it("does not retry insufficient_quota: it is billing, not a rate limit", async () => {
    fake.fault(ROUTE, {
      status: 429,
      body: {
        error: {
          message: "You exceeded your current quota",
          type: "insufficient_quota",
          code: "insufficient_quota",
        },
      },
    });
    await expect(llm().generateJson(request)).rejects.toMatchObject({
      httpStatus: 429,
      failureCode: "insufficient_quota",
      retryable: false,
      message: expect.stringContaining("exceeded your current quota"),
    });
    expect(fake.hits(ROUTE)).toBe(1);
  });

  it("never re-sends a call that timed out: its tokens may have been billed", async () => {
    fake.fault(ROUTE, { delayMs: 300 });
    const error = await llm({ timeoutMs: 100 }).generateJson(request).catch((e) => e);
    expect(error).toMatchObject({ failureCode: "submit_outcome_unknown", retryable: false });
    expect(fake.hits(ROUTE)).toBe(1);
    expect(waits).toEqual([]);
  });

  it("retries an error answer (nothing was billed)", async () => {
    fake.fault(ROUTE, { status: 500 });
    await llm().generateJson(request);
    expect(fake.hits(ROUTE)).toBe(2);
    expect(waits).toEqual([500]);
  });

  it("reports a bad key as unauthorized", async () => {
    await expect(llm({ apiKey: "nope" }).generateJson(request)).rejects.toMatchObject({
      httpStatus: 401,
      failureCode: "unauthorized",
    });
  });
});
