/** The demo report's quote beside the spend (scripts/demo/report-summaries.ts quoteBesideSpend). */
import { describe, expect, it } from "vitest";
import { quoteBesideSpend } from "../../scripts/demo/report-summaries.ts";
import type { MetricRow } from "../../scripts/demo/report-queries.ts";
import type { MovieQuote } from "../../shared/client/movies.ts";

const quote: MovieQuote = {
  sceneCount: 2,
  perProvider: [
    { provider: "runway", model: "gen4.5", type: "video", paid: true, calls: 2, units: 20, unit: "seconds" },
    { provider: "fal", model: "flux", type: "image", paid: true, calls: 3, units: 3, unit: "images" },
  ],
  total: { units: { seconds: 20, images: 3 }, capUnits: 23 },
  callsByKind: { video: 2 },
  expectedWallSeconds: 100,
  estimates: ["video: upper bound"],
};
const metric = (provider: string, model: string, units: string | null, unit: string | null): MetricRow => ({
  step: "generate_videos",
  step_name: "x",
  scene_number: 1,
  provider,
  model,
  phase: units === null ? "submitted" : "succeeded",
  cost_units: units,
  cost_unit: unit,
  started_at: new Date(),
  finished_at: null,
});

describe("quoteBesideSpend", () => {
  it("adds each call to its provider/model/unit line; calls in flight count, unforeseen ones get a row", () => {
    const report = quoteBesideSpend(quote, [
      metric("runway", "gen4.5", "6", "seconds"),
      metric("runway", "gen4.5", null, null),
      metric("fal", "flux", "1", "images"),
      metric("worker", "ffmpeg", "1", "renders"),
    ]);
    expect(report.rows).toEqual([
      expect.objectContaining({
        provider: "runway",
        quotedCalls: 2,
        spentCalls: 2,
        quotedUnits: 20,
        spentUnits: 6,
      }),
      expect.objectContaining({ provider: "fal", quotedCalls: 3, spentCalls: 1, spentUnits: 1 }),
      expect.objectContaining({ provider: "worker", quotedCalls: 0, spentCalls: 1, unit: "renders" }),
    ]);
    expect(report.expectedWallSeconds).toBe(100);
  });
});
