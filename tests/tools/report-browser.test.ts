/**
 * The demo report in a real browser: a report built from real media (an H.264/AAC film encoded as
 * the render worker encodes, a PNG poster, thumbnails cut by the report's own media code), served
 * over HTTP with byte ranges and opened in Debian's headless Chromium. Needs chromium and ffmpeg,
 * not the stack.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DemoReport } from "../../scripts/demo/report-types.ts";
import { renderReport, reportHtml } from "../../scripts/demo/report-html.ts";
import { createMediaFetcher } from "../../scripts/demo/report-media.ts";
import {
  bodyAttribute,
  checkPageInChromium,
  dumpDom,
  greyLevels,
  type PageCheck,
} from "../support/browser.ts";
import { startStaticServer, type StaticServer } from "../support/static-server.ts";

const ffmpeg = (args: string[]) =>
  execFileSync("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", ...args]);
// shared/render/assemble-command.ts: VIDEO_ENCODE, AUDIO_ENCODE and +faststart of the assembled film.
const RENDER_ENCODE = [
  "-c:v",
  "libx264",
  "-preset",
  "veryfast",
  "-crf",
  "20",
  "-pix_fmt",
  "yuv420p",
  "-profile:v",
  "high",
  "-c:a",
  "aac",
  "-b:a",
  "192k",
  "-ar",
  "48000",
  "-ac",
  "2",
  "-movflags",
  "+faststart",
];
const HOSTILE_TITLE = `<script>document.body.dataset.injected = "title"</script>Noir & "Rain"`;
const HOSTILE_LINE = `<img src=x onerror="document.body.dataset.injected = 'line'">Run!`;

let work: string;
let storage: StaticServer;
let site: StaticServer;
let page: PageCheck;
let report: DemoReport;

/** Files as the stack's Storage would serve them: under /storage/v1/object/public/<bucket>/. */
function makeStorage(root: string) {
  const dir = join(root, "storage/v1/object/public/media/films/u1/m1");
  mkdirSync(dir, { recursive: true });
  ffmpeg([
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=24",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    "3",
    ...RENDER_ENCODE,
    join(dir, "film.mp4"),
  ]);
  ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=360x540", "-frames:v", "1", join(dir, "cover.png")]);
  ffmpeg(["-f", "lavfi", "-i", "smptebars=size=320x180", "-frames:v", "1", join(dir, "scene-1-end.png")]);
  ffmpeg(["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=44100", "-t", "1", join(dir, "line-0.mp3")]);
}

function syntheticReport(media: Record<string, string | null>, t0: number): DemoReport {
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  return {
    film: {
      movieId: "m1",
      title: HOSTILE_TITLE,
      prompt: "A detective <b>walks</b> in the rain.",
      status: "completed",
      askedSeconds: 3,
      durationSeconds: 3,
      videoFile: media.film,
      posterFile: media.poster,
      createdAt: at(0),
      completedAt: at(20),
    },
    scenes: [
      {
        sceneNumber: 1,
        status: "completed",
        videoFile: media.film!,
        thumbnailFile: media.thumb!,
        endFrameFile: media.endFrame!,
        referenceImageSource: "generated",
        durationSeconds: 3,
        shots: [{
          shotNumber: 1,
          durationSeconds: 3,
          status: "completed",
          referenceImageSource: "generated",
        }],
        lines: [{ character: "Ana", text: HOSTILE_LINE, audioFile: media.line! }],
      },
      {
        sceneNumber: 2,
        status: "failed",
        errorMessage: "video provider refused the prompt",
        referenceImageSource: "previous_frame",
        shots: [
          { shotNumber: 1, durationSeconds: 5, status: "completed", referenceImageSource: "previous_frame" },
          {
            shotNumber: 2,
            durationSeconds: 4,
            status: "failed",
            referenceImageSource: "previous_shot",
            errorMessage: "video provider refused the prompt",
          },
        ],
        lines: [],
      },
    ],
    steps: [
      {
        name: "generate_screenplay",
        status: "completed",
        startedAt: at(1),
        completedAt: at(3),
        seconds: 2,
        busySeconds: 2,
        calls: 1,
        failedCalls: 0,
        provider: "openai",
        model: "gpt-fake",
        costUnits: 1200,
        costUnit: "tokens",
      },
      {
        name: "generate_videos",
        status: "completed",
        startedAt: at(4),
        completedAt: at(14),
        seconds: 10,
        busySeconds: 17,
        calls: 2,
        failedCalls: 1,
        provider: "runway",
        model: "gen4_turbo",
        costUnits: 5,
        costUnit: "seconds",
      },
      { name: "finalize", status: "completed", startedAt: at(19), completedAt: at(20), seconds: 1 },
    ],
    tasks: [
      {
        id: "t1",
        kind: "film.produce",
        label: "produce film",
        createdAt: at(0),
        startedAt: at(0.2),
        endedAt: at(20),
        status: "succeeded",
        failedAttempts: 0,
      },
      {
        id: "t2",
        kind: "film.chain",
        label: "clips · scene 1",
        createdAt: at(4),
        startedAt: at(4.1),
        endedAt: at(12),
        status: "succeeded",
        failedAttempts: 0,
        parentId: "t1",
      },
      {
        id: "t3",
        kind: "film.chain",
        label: "clips · scene 2",
        createdAt: at(4),
        startedAt: at(4.3),
        endedAt: at(14),
        status: "succeeded",
        failedAttempts: 1,
        parentId: "t1",
      },
      {
        id: "t4",
        kind: "film.voices",
        label: "voices · scene 1",
        createdAt: at(4),
        startedAt: at(4.2),
        endedAt: at(7),
        status: "succeeded",
        failedAttempts: 0,
        parentId: "t1",
      },
      {
        id: "t5",
        kind: "render",
        label: "render assemble · assemble_movie:render",
        createdAt: at(15),
        startedAt: at(15.5),
        endedAt: at(18),
        status: "succeeded",
        failedAttempts: 0,
      },
    ],
    kills: [{ at: at(6), function: "generate-scene-video" }, { at: at(9), function: "render-worker" }],
    summary: {
      wallSeconds: 20,
      tasks: 5,
      kills: 2,
      retriedTasks: 1,
      maxParallelTasks: 3,
      scenes: 2,
      failedScenes: 1,
    },
    warnings: [],
    generatedAt: at(21),
    machine: "test machine",
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "reelforge-report-"));
  makeStorage(join(work, "storage-root"));
  storage = await startStaticServer(join(work, "storage-root"));
  const outDir = join(work, "report");
  const fetcher = createMediaFetcher({ outDir });
  const object = (name: string) =>
    `${storage.url}storage/v1/object/public/media/films/u1/m1/${name}?v=2-abcdef`;
  const film = await fetcher.download(object("film.mp4"), "film");
  const media = {
    film,
    poster: await fetcher.download(object("cover.png"), "poster"),
    thumb: film && (await fetcher.thumbnail(film, "scene-001-thumb.jpg")),
    endFrame: await fetcher.download(object("scene-1-end.png"), "scene-001-end-frame"),
    line: await fetcher.download(object("line-0.mp3"), "scene-001-line-00"),
  };
  expect(fetcher.warnings).toEqual([]);
  report = syntheticReport(media, Date.parse("2026-11-21T10:00:00Z"));
  await renderReport(report, outDir);
  site = await startStaticServer(outDir);
  page = await checkPageInChromium(`${site.url}index.html`, { screenshotPath: join(work, "report.png") });
}, 120_000);

afterAll(async () => {
  await site?.close();
  await storage?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the demo report in Chromium", () => {
  it("downloads the media next to the page under media/, named by the URL's extension despite ?v=", () => {
    expect(report.film.videoFile).toBe("media/film.mp4");
    expect(report.film.posterFile).toBe("media/poster.png");
    expect(report.scenes[0].thumbnailFile).toBe("media/scene-001-thumb.jpg");
    expect(report.scenes[0].lines[0].audioFile).toBe("media/scene-001-line-00.mp3");
  });

  it("plays the render worker's H.264/AAC film: the video element reports its 3 s duration", () => {
    expect(page.videoError).toBeNull();
    expect(page.videoDurationSeconds).toBeGreaterThan(0);
    expect(page.videoDurationSeconds).toBeCloseTo(3, 1);
  });

  it("decodes the film's pictures and sound, not only its metadata", async () => {
    // A probe page next to the report: draws the first decoded frame and reads the decoder counters.
    writeFileSync(
      join(work, "report/decode-probe.html"),
      `<!doctype html><canvas id="c" width="32" height="18"></canvas><script>
      const v = document.createElement("video");
      v.muted = true; v.preload = "auto"; v.src = "media/film.mp4";
      v.onloadeddata = () => {
        const c = document.getElementById("c").getContext("2d");
        c.drawImage(v, 0, 0, 32, 18);
        let sum = 0;
        for (const x of c.getImageData(0, 0, 32, 18).data) sum += x;
        Object.assign(document.body.dataset, { pixelSum: sum - 32 * 18 * 255, frames: v.webkitDecodedFrameCount, audioBytes: v.webkitAudioDecodedByteCount });
      };
      v.onerror = () => { document.body.dataset.error = String(v.error.code); };
    </script>`,
    );
    const dom = await dumpDom(`${site.url}decode-probe.html`);
    expect(bodyAttribute(dom, "data-error")).toBeNull();
    expect(Number(bodyAttribute(dom, "data-pixel-sum"))).toBeGreaterThan(0); // alpha excluded: some colour was drawn
    expect(Number(bodyAttribute(dom, "data-frames"))).toBeGreaterThan(0);
    expect(Number(bodyAttribute(dom, "data-audio-bytes"))).toBeGreaterThan(0);
  }, 60_000);

  it("draws a page that is not blank", () => {
    expect(page.screenshotStddev).toBeGreaterThan(20);
    expect(page.distinctLevels).toBeGreaterThan(32);
  });

  it("shows titles and dialogue as text: the hostile title and line never run", () => {
    expect(bodyAttribute(page.dom, "data-injected")).toBeNull();
    expect(page.dom).toContain("&lt;script&gt;document.body.dataset.injected");
    expect(page.dom).toContain("&lt;img src=x onerror=");
    expect(page.dom).not.toMatch(/<img src="?x/);
  });

  it("lists each scene's shots with their length and first frame, and the length asked beside the film's", () => {
    expect(page.dom).toContain("shot 1: 3 s, from generated image");
    expect(page.dom).toContain("shot 2: 4 s, from previous shot's last frame");
    expect(page.dom).toMatch(/film length asked \/ rendered<\/dt><dd>3 s \/ 3 s \(\+0 %\)/);
  });

  it("says the film completed despite its kills", () => {
    expect(page.dom).toContain("Film completed despite 2 kills.");
    expect(page.dom.match(/class="kill"/g)).toHaveLength(2);
  });

  it("tells a film Chromium cannot play apart from one it can: data-video-error, no duration", async () => {
    const broken = join(work, "broken");
    mkdirSync(join(broken, "media"), { recursive: true });
    writeFileSync(join(broken, "media/film.mp4"), readFileSync(join(work, "report/media/poster.png")));
    writeFileSync(
      join(broken, "index.html"),
      reportHtml({ ...report, film: { ...report.film, posterFile: null } }),
    );
    const server = await startStaticServer(broken);
    try {
      const dom = await dumpDom(`${server.url}index.html`);
      expect(bodyAttribute(dom, "data-video-error")).toMatch(/^\d/);
      expect(bodyAttribute(dom, "data-video-duration")).toBeNull();
    } finally {
      await server.close();
    }
  }, 60_000);

  it("measures a uniform image as blank", async () => {
    const flat = join(work, "flat.png");
    ffmpeg(["-f", "lavfi", "-i", "color=c=white:size=1280x1600", "-frames:v", "1", flat]);
    expect(await greyLevels(flat)).toEqual({ stddev: 0, distinctLevels: 1 });
  });
});
