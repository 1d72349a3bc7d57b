/**
 * `npm run demo` end to end, as a user runs it (chaos mode, a half-minute film): the demo process
 * makes a film through the typed client on this stack while killing film workers, exits 0, prints
 * where the film, poster and report are; the report lists its kills, a completed film as long as
 * asked and each scene's shots; and Debian's
 * headless Chromium, opening the report from a local server, plays the film (positive duration,
 * equal to ffprobe's) and draws a page that is not blank.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DemoReport } from "../../scripts/demo/report-types.ts";
import { checkPageInChromium } from "../support/browser.ts";
import { durationOf } from "../support/render-media.ts";
import { startStaticServer } from "../support/static-server.ts";
import { connect } from "../support/stack.ts";

const REPO = join(import.meta.dirname!, "..", "..");
const out = mkdtempSync(join(tmpdir(), "reelforge-demo-"));
const sql = connect(1);

afterAll(async () => {
  await sql.end();
  rmSync(out, { recursive: true, force: true });
});

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO, "node_modules/.bin/deno"), [
      "run",
      "-A",
      "--no-prompt",
      "--config",
      "deno.json",
      "scripts/demo/demo.ts",
      ...args,
    ], { cwd: REPO });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run demo", () => {
  it("makes a film through worker kills, reports it, and the report plays in a real browser", async () => {
    const { code, stdout, stderr } = await runDemo([
      "--chaos",
      "--minutes",
      "0.5",
      "--title",
      "Harbour <Lights>",
      "--out",
      out,
    ]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const printed = (label: string) => stdout.match(new RegExp(`^${label}:\\s+(.+)$`, "m"))?.[1];
    expect(printed("report")).toBe(join(out, "index.html"));
    const film = printed("film")!;
    expect(existsSync(film) && existsSync(printed("poster")!)).toBe(true);
    // Live progress: a bar line per step went by.
    expect(stdout).toMatch(/finalize\s+█+\s+100%/);

    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as DemoReport;
    expect(report.film.status).toBe("completed");
    expect(report.kills.length).toBeGreaterThan(0);
    expect(stdout).toContain(`chaos:  ${report.kills.length} workers killed; the film completed anyway`);
    expect(report.scenes.length).toBeGreaterThanOrEqual(2);
    expect(
      report.scenes.every((s) =>
        s.status === "completed" && s.thumbnailFile && s.endFrameFile && s.referenceImageSource
      ),
    ).toBe(true);
    // Half a minute asked, half a minute played (±10 %), cut into shots of at most 10 s: 3 or more.
    expect(report.film.askedSeconds).toBe(30);
    expect(Math.abs(report.film.durationSeconds! - 30)).toBeLessThanOrEqual(3);
    const shots = report.scenes.flatMap((s) => s.shots);
    expect(shots.length).toBeGreaterThanOrEqual(3);
    for (const scene of report.scenes) {
      expect(scene.shots.map((s) => s.shotNumber)).toEqual(scene.shots.map((_, i) => i + 1));
      expect(scene.shots.reduce((sum, s) => sum + s.durationSeconds, 0)).toBe(scene.durationSeconds);
      // Shot 1 starts from the scene's reference; each later one from the shot before's last frame.
      expect(scene.shots.map((s) => s.referenceImageSource)).toEqual(
        scene.shots.map((_, i) => (i === 0 ? scene.referenceImageSource : "previous_shot")),
      );
      expect(scene.shots.every((s) => s.status === "completed" && s.durationSeconds <= 10)).toBe(true);
    }
    expect(report.tasks.length).toBeGreaterThan(10);
    // What the report says is what the tables say.
    const [movie] = await sql`select status, title from public.movies where id = ${report.film.movieId}`;
    expect(movie).toEqual({ status: "completed", title: "Harbour <Lights>" });
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain("Harbour &lt;Lights&gt;");
    expect(html.match(/<li><time[^>]*>[^<]*<\/time> killed/g)).toHaveLength(report.kills.length);
    expect(html).toContain(`shot ${report.scenes[0].shots.length}:`);
    expect(html).toContain("film length asked / rendered");
    // The quote, asked before start, beside the spend: local providers, one clip quoted per shot.
    const video = report.quote!.rows.find((r) => r.type === "video")!;
    expect(video).toMatchObject({ provider: "local", paid: false });
    expect(video.quotedCalls).toBeGreaterThanOrEqual(3);
    expect(video.spentCalls).toBeGreaterThan(0);
    expect(html).toContain("Quote and spend");

    const site = await startStaticServer(out);
    try {
      const page = await checkPageInChromium(`${site.url}index.html`, {
        screenshotPath: join(out, "screenshot.png"),
      });
      expect(page.videoError).toBeNull();
      expect(page.videoDurationSeconds).toBeGreaterThan(0);
      expect(page.videoDurationSeconds!).toBeCloseTo(durationOf(film), 0);
      expect(page.distinctLevels).toBeGreaterThan(16);
      expect(page.screenshotStddev).toBeGreaterThan(10);
    } finally {
      await site.close();
    }
    expect(relative(out, film).startsWith("media")).toBe(true);
  }, 300_000);
});
