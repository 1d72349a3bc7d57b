/**
 * The offline LLM: answers the film pipeline's structured requests by name with the local
 * writer's deterministic film, parsed by the request's own zod schema like any real answer.
 */
import type { FilmBrief } from "../film-schemas.ts";
import { readFilmBrief } from "../film-schemas.ts";
import { ProviderError } from "../provider-errors.ts";
import type { JsonRequest, LlmProvider } from "../types.ts";
import { writeProductionPlan, writeScreenplay, writeVisualBible } from "./local-film-writer.ts";

const WRITERS: Record<string, (brief: FilmBrief) => unknown> = {
  production_plan: writeProductionPlan,
  visual_bible: writeVisualBible,
  screenplay: writeScreenplay,
};

/** Without a tagged brief (filmBriefBlock) the whole user message is the prompt. */
function briefOf(request: JsonRequest<unknown>): FilmBrief {
  return readFilmBrief(request.user) ??
    { title: "Untitled", prompt: request.user, genre: "drama", duration_minutes: 1 };
}

export function createLocalLlm(): LlmProvider {
  return {
    provider: "local",
    model: "local",
    generateJson<T>(request: JsonRequest<T>) {
      const write = Object.hasOwn(WRITERS, request.name) ? WRITERS[request.name] : undefined;
      if (!write) {
        return Promise.reject(
          new ProviderError(
            { provider: "local", failureCode: "unsupported_request", retryable: false },
            `the local LLM answers ${Object.keys(WRITERS).join(", ")}; not "${request.name}"`,
          ),
        );
      }
      const answer = request.parse.safeParse(write(briefOf(request as JsonRequest<unknown>)));
      if (!answer.success) {
        return Promise.reject(
          new ProviderError(
            { provider: "local", failureCode: "schema_mismatch", retryable: false },
            `local ${request.name} does not match the request's schema: ${answer.error.issues[0]?.message}`,
          ),
        );
      }
      const completion = JSON.stringify(answer.data);
      return Promise.resolve({
        value: answer.data,
        usage: {
          promptTokens: Math.ceil((request.system.length + request.user.length) / 4),
          completionTokens: Math.ceil(completion.length / 4),
        },
      });
    },
  };
}
