import { describe, expect, it } from "vitest";
import {
  FILM_SCHEMAS,
  filmBriefBlock,
  filmRequest,
  type FilmSchemaName,
} from "../../shared/providers/film-schemas.ts";
import { createLocalLlm } from "../../shared/providers/local/local-llm.ts";
import { ProviderError } from "../../shared/providers/provider-errors.ts";

const brief = {
  title: "The Harbour",
  prompt: "A lighthouse keeper finds a message in a bottle",
  genre: "drama",
  duration_minutes: 2,
};
const ask = <N extends FilmSchemaName>(name: N, b = brief) =>
  createLocalLlm().generateJson(
    filmRequest(name, { system: "You are a film writer.", user: `${filmBriefBlock(b)}\nWrite the ${name}.` }),
  );

describe("local LLM", () => {
  it("answers each film request with a value its zod schema accepts", async () => {
    for (const name of Object.keys(FILM_SCHEMAS) as FilmSchemaName[]) {
      const { value, usage } = await ask(name);
      expect(FILM_SCHEMAS[name].safeParse(value).success).toBe(true);
      expect(usage.completionTokens).toBeGreaterThan(0);
    }
  });

  it("gives the same answer for the same brief and a different one for another prompt", async () => {
    expect((await ask("screenplay")).value).toEqual((await ask("screenplay")).value);
    const other = await ask("screenplay", { ...brief, prompt: "Two thieves plan a heist in a flooded city" });
    expect(other.value).not.toEqual((await ask("screenplay")).value);
  });

  it("writes a screenplay that agrees with its own production plan", async () => {
    const plan = (await ask("production_plan")).value;
    const screenplay = (await ask("screenplay")).value;
    expect(screenplay.scenes).toHaveLength(plan.continuity.length);
    const names = new Set(plan.characters.map((c) => c.name));
    for (const scene of screenplay.scenes) {
      for (const line of scene.dialogue) {
        expect(names.has(line.character)).toBe(true);
        expect(line.timing).toBeLessThan(scene.duration.screen_time_seconds);
      }
    }
    for (const beat of plan.continuity.filter((b) => b.is_continuation)) {
      expect(plan.continuity[beat.continues_from! - 1].location_id).toBe(beat.location_id);
    }
  });

  it("refuses a request it has no writer for, as a non-retryable provider error", async () => {
    const request = { ...filmRequest("screenplay", { system: "", user: "x" }), name: "poem" };
    const error = await createLocalLlm().generateJson(request).catch((e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ failureCode: "unsupported_request", retryable: false });
  });
});
