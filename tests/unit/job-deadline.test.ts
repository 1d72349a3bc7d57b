/**
 * A provider job's deadline (default per provider type, the row's jobDeadlineSeconds over it) and
 * the sizing of the paid synchronous calls' timeouts (longer requests wait longer, up to a cap).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_JOB_DEADLINE_SECONDS, jobDeadlineMs } from "../../shared/providers/job-deadline.ts";
import {
  COMPLETION_TIMEOUT,
  completionTimeoutMs,
  SPEECH_TIMEOUT,
  speechTimeoutMs,
} from "../../shared/providers/http/call-timeouts.ts";
import { PROVIDER_CATALOG } from "../../shared/providers/registry/provider-catalog.ts";
import { timeoutMessage } from "../../shared/film/film-jobs.ts";
import { adapterSettings } from "../../shared/providers/job-deadline.ts";
import { validateRegistration } from "../../shared/providers/registry/provider-config.ts";

describe("jobDeadlineMs", () => {
  it("defaults per provider type: ten minutes for video", () => {
    expect(jobDeadlineMs("video", {})).toBe(600_000);
    expect(jobDeadlineMs("image", {})).toBe(DEFAULT_JOB_DEADLINE_SECONDS.image * 1000);
    expect(jobDeadlineMs("render", {})).toBe(DEFAULT_JOB_DEADLINE_SECONDS.render * 1000);
  });

  it("the provider row's jobDeadlineSeconds wins", () => {
    expect(jobDeadlineMs("video", { jobDeadlineSeconds: 3 })).toBe(3_000);
    expect(jobDeadlineMs("music", { jobDeadlineSeconds: 1_200, format: "mp3" })).toBe(1_200_000);
  });

  it("every job provider's settings take it, synchronous providers' do not", () => {
    const takes = (type: keyof typeof PROVIDER_CATALOG, provider: string) =>
      PROVIDER_CATALOG[type][provider].settings.safeParse({ jobDeadlineSeconds: 60 }).success;
    expect(takes("video", "runway")).toBe(true);
    expect(takes("image", "fal")).toBe(true);
    expect(takes("lipsync", "sync")).toBe(true);
    expect(takes("music", "beatoven")).toBe(true);
    expect(takes("render", "fal")).toBe(true);
    expect(takes("audio", "elevenlabs")).toBe(false);
    expect(takes("llm", "openai")).toBe(false);
    expect(PROVIDER_CATALOG.video.runway.settings.safeParse({ jobDeadlineSeconds: 0 }).success).toBe(false);
  });

  it("is the registry's own: registered beside a provider's own settings, never handed to its adapter", () => {
    const row = validateRegistration({
      providerType: "video",
      provider: "runway",
      model: "gen4.5",
      apiKey: "key_0123456789",
      settings: { ratio: "1280:720", jobDeadlineSeconds: 900 },
    });
    expect(row.settings).toEqual({ ratio: "1280:720", jobDeadlineSeconds: 900 });
    expect(adapterSettings(row.settings)).toEqual({ ratio: "1280:720" });
  });

  it("its failure names the provider, the model and the deadline", () => {
    const message = timeoutMessage({ provider: "runway", model: "gen4.5" }, "task-1", 600_000, null);
    expect(message).toContain("runway gen4.5 job task-1");
    expect(message).toContain("600 s");
    expect(message).toContain("cancelled at the provider");
    expect(timeoutMessage({ provider: "fal", model: "m" }, "r", 300_000, "fal HTTP 500")).toContain(
      "cancelling it at the provider failed: fal HTTP 500",
    );
  });
});

describe("synchronous call timeouts", () => {
  it("text to speech waits longer for a longer line, up to its cap", () => {
    expect(speechTimeoutMs(0)).toBe(SPEECH_TIMEOUT.baseMs);
    expect(speechTimeoutMs(1_000)).toBe(SPEECH_TIMEOUT.baseMs + 1_000 * SPEECH_TIMEOUT.perCharacterMs);
    expect(speechTimeoutMs(5_000)).toBeGreaterThan(speechTimeoutMs(1_000));
    expect(speechTimeoutMs(40_000)).toBe(SPEECH_TIMEOUT.maxMs);
  });

  it("an LLM call waits longer for a longer prompt and a larger expected answer, up to its cap", () => {
    const base = completionTimeoutMs(0);
    expect(base).toBe(
      COMPLETION_TIMEOUT.baseMs +
        COMPLETION_TIMEOUT.defaultAnswerTokens * COMPLETION_TIMEOUT.perAnswerTokenMs,
    );
    expect(completionTimeoutMs(40_000)).toBe(base + 40_000 * COMPLETION_TIMEOUT.perPromptCharacterMs);
    expect(completionTimeoutMs(0, 1_000)).toBeLessThan(base);
    expect(completionTimeoutMs(0, 12_000)).toBeGreaterThan(base);
    expect(completionTimeoutMs(1_000_000, 100_000)).toBe(COMPLETION_TIMEOUT.maxMs);
  });
});
