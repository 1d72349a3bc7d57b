/** The demo's options (bad ones named before anything starts) and its progress lines. */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_OPTIONS,
  DemoUsageError,
  MAX_MINUTES,
  parseDemoArgs,
} from "../../scripts/demo/demo-options.ts";
import { bar, createProgressView, progressLines } from "../../scripts/demo/demo-progress.ts";
import { FILM_STEPS, type MovieStatus } from "../../shared/client/index.ts";

describe("demo options", () => {
  it("default to a one-minute film and take every option in both spellings", () => {
    expect(parseDemoArgs([])).toEqual(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS.minutes).toBe(1);
    expect(
      parseDemoArgs([
        "--prompt",
        "A heist on a train",
        "--minutes=3",
        "--chaos",
        "--orientation",
        "portrait",
      ]),
    )
      .toMatchObject({ prompt: "A heist on a train", minutes: 3, chaos: true, orientation: "portrait" });
    expect(parseDemoArgs(["--minutes", "0.5"]).minutes).toBe(0.5);
    expect(parseDemoArgs(["--minutes", String(MAX_MINUTES)]).minutes).toBe(30);
  });

  it.each([
    [["--minutes", "0"], '--minutes must be a number of minutes from 0.01 to 30 in hundredths, not "0"'],
    [["--minutes", "-2"], "--minutes must be a number of minutes from 0.01 to 30 in hundredths"],
    [["--minutes", "31"], '--minutes must be a number of minutes from 0.01 to 30 in hundredths, not "31"'],
    // produce-movie keeps hundredths (movies.duration_minutes) and refuses anything finer.
    [
      ["--minutes", "0.333"],
      '--minutes must be a number of minutes from 0.01 to 30 in hundredths, not "0.333"',
    ],
    [["--minutes", "0.001"], "--minutes must be a number of minutes from 0.01 to 30 in hundredths"],
    [["--minutes", "three"], "--minutes must be a number of minutes"],
    [["--minutes", "Infinity"], "--minutes must be a number of minutes"],
    [["--minutes="], "--minutes must be a number of minutes"],
    [["--minutes"], "--minutes needs a value"],
    [["--scenes", "4"], "--scenes is gone: a film's length decides its scenes; ask for --minutes N"],
    [["--prompt"], "--prompt needs a value"],
    [["--prompt", "--chaos"], "--prompt needs a value"],
    [["--orientation", "square"], "--orientation must be landscape or portrait"],
    [["--title", "  "], "--title must not be empty"],
    [["--fast"], "unknown option --fast"],
  ])("refuse %j naming the problem", (args, message) => {
    expect(() => parseDemoArgs(args)).toThrow(DemoUsageError);
    expect(() => parseDemoArgs(args)).toThrow(message);
  });
});

describe("demo progress", () => {
  const status = {
    movie: {
      id: "m",
      title: "Night Shift",
      status: "processing",
      progress: 40,
      videoUrl: null,
      posterUrl: null,
      thumbnailUrl: null,
      errorMessage: null,
      warnings: [],
      failedScenes: [],
    },
    progress: {
      overallStatus: "running",
      overallProgress: 40,
      currentStep: "generate_videos",
      currentStepDetail: null,
      steps: Object.fromEntries(
        FILM_STEPS.map((
          s,
          i,
        ) => [s, {
          status: i < 5 ? "completed" : i === 5 ? "running" : "pending",
          progress: i === 5 ? 50 : 0,
          detail: i === 5 ? "Escena 1/2 generada" : null,
        }]),
      ),
    },
    scenes: [
      {
        id: "a",
        scene_number: 1,
        status: "completed",
        audio_status: "completed",
        mix_status: "running",
        is_continuation: false,
        continues_from: null,
        reference_image_source: "library",
        video_url: null,
        lipsync_url: null,
        end_frame_url: null,
        error_message: null,
      },
      {
        id: "b",
        scene_number: 2,
        status: "failed",
        audio_status: "completed",
        mix_status: "skipped",
        is_continuation: true,
        continues_from: 1,
        reference_image_source: "previous_frame",
        video_url: null,
        lipsync_url: null,
        end_frame_url: null,
        error_message: "provider refused",
      },
    ],
    metrics: [],
    elapsedSeconds: 12.4,
    task: null,
  } as unknown as MovieStatus;

  it("draws a bar per step and a line per scene", () => {
    const lines = progressLines(status, 3);
    expect(lines[0]).toBe("Night Shift — processing 40% · 12 s · 3 workers killed");
    expect(lines.filter((l) => /█|░/.test(l))).toHaveLength(FILM_STEPS.length);
    expect(lines.find((l) => l.includes("generate_videos"))).toContain(
      `${bar(0.5)}  50%  Escena 1/2 generada`,
    );
    expect(lines.find((l) => l.includes("scene  2"))).toMatch(
      /continues 1.*video ✘ failed.*from previous_frame\s+provider refused/,
    );
  });

  it("says under the title when the film waits on a render worker nobody runs", () => {
    const message = "no render worker has picked up this film's rendering for 75 s";
    const waiting = {
      ...status,
      waiting: { on: "render_worker", since: "2026-12-03T06:00:00Z", jobs: 1, message },
    } as MovieStatus;
    expect(progressLines(waiting).slice(0, 2)).toEqual([progressLines(status)[0], `⚠ ${message}`]);
    expect(progressLines(status)[1]).toBe("");
  });

  it("redraws in place on a terminal and prints only what changed elsewhere", () => {
    let tty = "";
    const onTerminal = createProgressView((t) => (tty += t), true);
    onTerminal.draw(["a", "b"]);
    onTerminal.draw(["a", "c"]);
    expect(tty).toBe("\x1b[2Ka\n\x1b[2Kb\n\x1b[2A\x1b[2Ka\n\x1b[2Kc\n");
    let log = "";
    const inLog = createProgressView((t) => (log += t), false);
    inLog.draw(["head 1", "x", "y"]);
    inLog.draw(["head 2", "x", "z"]);
    expect(log.split("\n").filter(Boolean).map((l) => l.slice(9))).toEqual(["x", "y", "z"]);
  });
});
