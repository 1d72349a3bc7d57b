import { describe, expect, it } from "vitest";
import type { TaskReport } from "../../scripts/demo/report-types.ts";
import { mediaExtension } from "../../scripts/demo/report-media.ts";
import type { MetricRow } from "../../scripts/demo/report-queries.ts";
import {
  filmWallSeconds,
  maxParallelTasks,
  summarizeSteps,
  taskLabel,
} from "../../scripts/demo/report-summaries.ts";

const T0 = Date.parse("2026-11-21T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();

const metric = (over: Partial<MetricRow>): MetricRow => ({
  step: "generate_audio",
  step_name: "line-0",
  scene_number: 1,
  provider: "elevenlabs",
  model: "eleven_v3",
  phase: "succeeded",
  cost_units: "10",
  cost_unit: "characters",
  started_at: at(10),
  finished_at: at(12),
  ...over,
});
const task = (over: Partial<TaskReport>): TaskReport => ({
  id: "t",
  kind: "film.chain",
  label: "",
  createdAt: iso(0),
  startedAt: iso(0),
  endedAt: iso(10),
  status: "succeeded",
  failedAttempts: 0,
  ...over,
});

describe("the step table", () => {
  it("lists steps without paid calls from the progress record, in the film's step order", () => {
    const steps = summarizeSteps({
      finalize: { status: "completed", started_at: iso(50), finished_at: iso(51) },
      validate_providers: { status: "completed", started_at: iso(0), finished_at: iso(0.5), detail: "ok" },
      generate_music: { status: "skipped", detail: "No music provider" },
    }, []);
    expect(steps.map((s) => [s.name, s.status, s.seconds])).toEqual([
      ["validate_providers", "completed", 0.5],
      ["generate_music", "skipped", 0],
      ["finalize", "completed", 1],
    ]);
    expect(steps[1].detail).toBe("No music provider");
  });

  it("gives each provider of a step its own row: wall time spans the calls, busy time adds them up, cost sums per unit", () => {
    const steps = summarizeSteps({ generate_audio: { status: "completed" } }, [
      metric({ step_name: "line-0", cost_units: "10", started_at: at(10), finished_at: at(14) }),
      metric({ step_name: "line-1", cost_units: "5.5", started_at: at(11), finished_at: at(13) }),
      metric({
        step_name: "mix",
        provider: "worker",
        model: "ffmpeg",
        cost_units: "1",
        cost_unit: "renders",
        started_at: at(15),
        finished_at: at(16),
      }),
    ]);
    expect(steps).toEqual([
      expect.objectContaining({
        name: "generate_audio",
        provider: "elevenlabs",
        calls: 2,
        seconds: 4,
        busySeconds: 6,
        costUnits: 15.5,
        costUnit: "characters",
        status: "completed",
      }),
      expect.objectContaining({
        name: "generate_audio",
        provider: "worker",
        calls: 1,
        seconds: 1,
        costUnits: 1,
        costUnit: "renders",
      }),
    ]);
  });

  it("counts a call still in flight in its provider's row and marks the row running", () => {
    const [row] = summarizeSteps({}, [
      metric({}),
      metric({
        step_name: "line-1",
        phase: "submitted",
        cost_units: null,
        cost_unit: null,
        finished_at: null,
      }),
    ]);
    expect(row).toMatchObject({ calls: 2, status: "running", costUnits: 10, costUnit: "characters" });
  });

  it("marks a row failed only when every call failed", () => {
    const rows = summarizeSteps({}, [
      metric({ phase: "failed" }),
      metric({ step: "generate_cover", phase: "failed" }),
      metric({ step: "generate_cover", phase: "succeeded" }),
    ]);
    expect(rows.map((r) => [r.name, r.status, r.failedCalls])).toEqual([["generate_audio", "failed", 1], [
      "generate_cover",
      "completed",
      1,
    ]]);
  });
});

describe("task labels", () => {
  it("names film tasks by what they make", () => {
    expect(taskLabel({ kind: "film.chain", payload: { scenes: [2, 3, 4] } })).toBe("clips · scenes 2→3→4");
    expect(taskLabel({ kind: "film.mix", payload: { sceneNumber: 3 } })).toBe("mix · scene 3");
    expect(
      taskLabel({
        kind: "film.location_image",
        payload: { locationSlug: "pier", timeOfDay: "night", weather: "rain" },
      }),
    )
      .toBe("location image · pier (night, rain)");
  });

  it("names a worker job by its op and the film step that submitted it", () => {
    expect(
      taskLabel({ kind: "render", payload: { op: "extract_last_frame" } }, {
        stepName: "scene-3:end-frame",
        sceneNumber: 3,
      }),
    )
      .toBe("render extract_last_frame · scene-3:end-frame");
    expect(
      taskLabel({ kind: "local_media", payload: { op: "voice" } }, { stepName: "line-1", sceneNumber: 2 }),
    ).toBe("local voice · line-1 · scene 2");
    expect(taskLabel({ kind: "render", payload: {} })).toBe("render job");
  });
});

describe("summary numbers", () => {
  it("counts the most tasks running at once, a hand-over at the same instant not being overlap, the produce task not at all", () => {
    const tasks = [
      task({ kind: "film.produce", startedAt: iso(0), endedAt: iso(100) }),
      task({ startedAt: iso(1), endedAt: iso(5) }),
      task({ startedAt: iso(2), endedAt: iso(6) }),
      task({ startedAt: iso(6), endedAt: iso(9) }),
      task({ startedAt: null, endedAt: iso(3) }),
    ];
    expect(maxParallelTasks(tasks, at(200))).toBe(2);
    expect(maxParallelTasks([...tasks, task({ startedAt: iso(4), endedAt: null })], at(200))).toBe(3);
  });

  it("times an unfinished film to its last task's end, or to now while a task runs", () => {
    expect(filmWallSeconds(at(0), at(42), [], at(99))).toBe(42);
    expect(filmWallSeconds(at(0), null, [task({ endedAt: iso(30) })], at(99))).toBe(30);
    expect(filmWallSeconds(at(0), null, [task({ endedAt: null })], at(99))).toBe(99);
  });
});

describe("media URLs", () => {
  it("takes the file extension from the path, else from the content type", () => {
    expect(mediaExtension("http://h/a/film.MP4?v=2", "application/octet-stream")).toBe(".mp4");
    expect(mediaExtension("http://h/a/render-output", "image/jpeg; charset=binary")).toBe(".jpg");
    expect(mediaExtension("http://h/a/blob", null)).toBe(".bin");
  });
});
