/**
 * Structured output from any OpenAI-compatible chat completions API (production plan, visual
 * bible, screenplay). A refusal, a truncated answer (finish_reason "length"), a content filter
 * stop, JSON that does not parse or an answer zod rejects is a ProviderError — never half a
 * screenplay.
 *
 * Thin fetch client, not the `openai` package: one POST with a fixed shape does not need the SDK,
 * and the SDK's own retries would sit beside provider-fetch's (which honours Retry-After and tells
 * insufficient_quota apart from rate limits).
 *
 * API facts relied on (platform.openai.com structured outputs, DESIGN.md §8):
 * `POST {base}/chat/completions`, `Authorization: Bearer`; `response_format: {type: "json_schema",
 * json_schema: {name, schema, strict: true}}`, where strict needs every property required and
 * `additionalProperties: false` on every object; the answer's `choices[0].message` has `content`
 * (a JSON string) or `refusal`, `finish_reason` is stop | length | content_filter; `usage` has
 * prompt_tokens/completion_tokens; errors are {error: {message, type, code}}, 429 with code
 * `insufficient_quota` is billing, not a rate limit.
 */
import { z } from "zod";
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { completionTimeoutMs } from "../http/call-timeouts.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { ProviderError, ProviderInputError } from "../provider-errors.ts";
import type { JsonRequest, LlmProvider } from "../types.ts";
import { assertStrictJsonSchema } from "./strict-schema-check.ts";

export interface OpenAiLlmOptions extends AdapterOptions {
  /** Newer OpenAI models take max_completion_tokens; many compatible servers only max_tokens. */
  tokenLimitField?: "max_completion_tokens" | "max_tokens";
  organization?: string;
}

const completionSchema = z.object({
  choices: z.array(z.object({
    message: z.object({ content: z.string().nullable(), refusal: z.string().nullish() }),
    finish_reason: z.string().nullable(),
  })).min(1),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).optional(),
});

export function createOpenAiLlm(options: OpenAiLlmOptions): LlmProvider {
  const provider = "openai";
  const { model } = options;
  const http = createProviderHttp({
    provider,
    baseUrl: options.baseUrl ?? "https://api.openai.com/v1",
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      ...(options.organization ? { "openai-organization": options.organization } : {}),
    },
    ...httpOptions(options),
    classify: ({ status, body }) => {
      const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
      return status === 429 && code === "insufficient_quota"
        ? { failureCode: "insufficient_quota", retryable: false }
        : undefined;
    },
  });
  const fail = (failureCode: string, detail: string, retryable = false): never => {
    throw new ProviderError({ provider, failureCode, retryable }, detail);
  };

  return {
    provider,
    model,
    async generateJson<T>(request: JsonRequest<T>) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(request.name)) {
        throw new ProviderInputError(
          provider,
          model,
          `schema name ${JSON.stringify(request.name)} must be 1-64 letters, digits, _ or -`,
        );
      }
      assertStrictJsonSchema(
        request.schema,
        (message) => new ProviderInputError(provider, model, `${request.name}: ${message}`),
      );
      const body = {
        model,
        messages: [{ role: "system", content: request.system }, { role: "user", content: request.user }],
        response_format: {
          type: "json_schema",
          json_schema: { name: request.name, schema: request.schema, strict: true },
        },
        ...(request.maxTokens === undefined
          ? {}
          : { [options.tokenLimitField ?? "max_completion_tokens"]: request.maxTokens }),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      };
      // Asking again pays for the tokens again: a timed-out call is not re-sent (its outcome is
      // unknown), an error answer is (nothing was billed). The timeout grows with the question and
      // the answer expected.
      const { data } = await http.request({
        method: "POST",
        path: "/chat/completions",
        body,
        schema: completionSchema,
        timeoutMs: options.timeoutMs ??
          completionTimeoutMs(request.system.length + request.user.length, request.maxTokens),
        repeatErrorAnswers: true,
      });
      const [choice] = data.choices;
      if (choice.message.refusal) {
        fail("refusal", `the model refused: ${choice.message.refusal.slice(0, 200)}`);
      }
      if (choice.finish_reason === "length") {
        fail(
          "truncated",
          `${request.name} was cut off at the token limit (${
            request.maxTokens ?? "default"
          }); raise maxTokens or ask for less`,
        );
      }
      if (choice.finish_reason === "content_filter") {
        fail("content_filter", `${request.name} was stopped by the content filter`);
      }
      const content = choice.message.content;
      if (content === null || content.trim() === "") {
        return fail("empty_output", `${request.name}: the answer has no content`);
      }
      let json: unknown;
      try {
        json = JSON.parse(content);
      } catch {
        fail("invalid_json", `${request.name}: the answer is not JSON`);
      }
      const parsed = request.parse.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        // Sampling may well answer correctly next time; the task engine caps the attempts.
        fail(
          "schema_mismatch",
          `${request.name}: ${issue?.path.join(".") || "answer"}: ${issue?.message}`,
          true,
        );
      }
      return {
        value: parsed.data as T,
        usage: {
          promptTokens: data.usage?.prompt_tokens ?? 0,
          completionTokens: data.usage?.completion_tokens ?? 0,
        },
      };
    },
  };
}
