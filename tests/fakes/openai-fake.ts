// deno-lint-ignore-file no-explicit-any -- request bodies are JSON the fake reads field by field, as the provider does
/**
 * OpenAI chat completions with strict structured outputs: POST /v1/chat/completions (Bearer key)
 * refuses a request without `response_format.json_schema.strict: true`, and answers with a minimal
 * instance of the request's own JSON schema — or with a scripted refusal, truncation, content
 * filter stop, or raw content (for answers that break the schema). `answerWith` gives real answers
 * by schema name (a film's plan and screenplay); `configure` adds a fixed answer delay.
 */
import { type FakeServer, startFakeServer } from "./fake-server.ts";
import { delay } from "./fixed-latency.ts";

export interface CompletionScript {
  finishReason?: "stop" | "length" | "content_filter";
  refusal?: string;
  /** Raw content instead of the schema instance: a string as is, anything else JSON-encoded. */
  content?: unknown;
}

export interface OpenAiFake extends FakeServer {
  nextCompletion(script: CompletionScript): void;
  /** Request bodies that reached the model. */
  requests: Record<string, unknown>[];
  /**
   * Answers by the request's json_schema name and user message (e.g. a screenplay): the returned
   * value is the content, undefined falls back to the scripts and the schema's minimal instance.
   */
  answerWith(answer: ((schemaName: string, userMessage: string) => unknown) | null): void;
  configure(settings: { latencyMs?: number }): void;
}

export async function startOpenAiFake(apiKey = "openai-test-key"): Promise<OpenAiFake> {
  const server = await startFakeServer({
    authorize: (request) => request.headers.authorization === `Bearer ${apiKey}`,
  });
  const scripts: CompletionScript[] = [];
  const requests: Record<string, unknown>[] = [];
  const settings = { latencyMs: 0 };
  let answer: ((schemaName: string, userMessage: string) => unknown) | null = null;

  server.route("POST /v1/chat/completions", async ({ body }) => {
    const request = (body ?? {}) as Record<string, any>;
    const format = request.response_format;
    if (
      format?.type !== "json_schema" || format.json_schema?.strict !== true || !format.json_schema?.schema
    ) {
      return {
        status: 400,
        body: {
          error: {
            message: "response_format must be a strict json_schema",
            type: "invalid_request_error",
            code: null,
          },
        },
      };
    }
    if (settings.latencyMs > 0) await delay(settings.latencyMs);
    requests.push(request);
    server.recordSubmission(request);
    const user = (request.messages as { role: string; content: string }[] | undefined)?.filter((m) =>
      m.role === "user"
    ).map((m) => m.content).join("\n") ?? "";
    const answered = answer?.(format.json_schema.name, user);
    const script = answered === undefined ? scripts.shift() ?? {} : { content: answered };
    const full = script.content === undefined
      ? JSON.stringify(instanceOf(format.json_schema.schema))
      : typeof script.content === "string"
      ? script.content
      : JSON.stringify(script.content);
    const finish = script.finishReason ?? "stop";
    const content = script.refusal
      ? null
      : finish === "length"
      ? full.slice(0, Math.floor(full.length / 2))
      : full;
    return {
      body: {
        id: `chatcmpl-${crypto.randomUUID()}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [{
          index: 0,
          message: { role: "assistant", content, refusal: script.refusal ?? null },
          finish_reason: finish,
        }],
        usage: {
          prompt_tokens: 120,
          completion_tokens: Math.ceil((content ?? "").length / 4),
          total_tokens: 0,
        },
      },
    };
  });

  return Object.assign(server, {
    nextCompletion: (script: CompletionScript) => void scripts.push(script),
    answerWith: (next: ((schemaName: string, userMessage: string) => unknown) | null) => void (answer = next),
    configure: (next: { latencyMs?: number }) => void Object.assign(settings, next),
    requests,
  });
}

/** The smallest value a strict JSON schema accepts (first enum value, one array item, minimums). */
export function instanceOf(schema: Record<string, any>): unknown {
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) return instanceOf(schema.anyOf[0]);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map((
          [name, child],
        ) => [name, instanceOf(child as Record<string, any>)]),
      );
    case "array":
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => instanceOf(schema.items ?? {}));
    case "integer":
    case "number":
      return Math.max(schema.minimum ?? 1, 1);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return "text";
  }
}
