/**
 * Opens a page in Debian's real Chromium, headless: once for the DOM after the page's scripts and
 * media settled (`--dump-dom` with a virtual-time budget), once for a screenshot. Reads what the
 * report page writes on <body> (data-video-duration, data-video-error) and measures whether the
 * screenshot shows anything (grey levels decoded with FFmpeg).
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
// As asked for: headless, root-safe (no sandbox as root), no GPU, no calls home.
const BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export interface PageCheck {
  /** The DOM after the budget, as Chromium serialized it. */
  dom: string;
  /** What the page's <video id="film"> reported after loadedmetadata; null if it never did. */
  videoDurationSeconds: number | null;
  /** data-video-error: the MediaError code and message, when the video failed. */
  videoError: string | null;
  screenshotPath: string;
  /** Standard deviation of the screenshot's grey levels (0-255); a blank page is near 0. */
  screenshotStddev: number;
  /** How many of the 256 grey levels occur in the screenshot. */
  distinctLevels: number;
}

/** CHROMIUM_BIN, else `chromium` on PATH, else /usr/bin/chromium. */
export function findChromium(): string {
  const candidates = [
    process.env.CHROMIUM_BIN,
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, "chromium")),
    "/usr/bin/chromium",
  ].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next candidate
    }
  }
  throw new Error(
    "chromium not found (set CHROMIUM_BIN, or as root: apt-get update && apt-get install -y chromium; scripts/test.sh installs it)",
  );
}

export async function chromiumVersion(): Promise<string> {
  const { stdout } = await run(findChromium(), ["--version"]);
  return stdout.trim();
}

/** Runs Chromium on `url` with a throwaway profile; returns its stdout. */
async function chromium(url: string, flags: string[], timeoutMs: number): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), "reelforge-chromium-"));
  try {
    const { stdout } = await run(
      findChromium(),
      [...BASE_FLAGS, `--user-data-dir=${profile}`, ...flags, url],
      {
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
        killSignal: "SIGKILL",
      },
    );
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** An attribute of the dumped <body> tag, unescaped; null when absent. */
export function bodyAttribute(dom: string, name: string): string | null {
  const body = dom.match(/<body\b[^>]*>/i)?.[0];
  const value = body?.match(new RegExp(`\\s${name}="([^"]*)"`, "i"))?.[1];
  if (value === undefined) return null;
  return value.replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** Grey-level spread of an image: decoded to 8-bit grey by FFmpeg. */
export async function greyLevels(imagePath: string): Promise<{ stddev: number; distinctLevels: number }> {
  const { stdout } = await run("ffmpeg", [
    "-hide_banner",
    "-nostdin",
    "-v",
    "error",
    "-i",
    imagePath,
    "-f",
    "rawvideo",
    "-pix_fmt",
    "gray",
    "-",
  ], {
    encoding: "buffer",
    maxBuffer: 256 << 20,
  });
  const pixels = stdout as Buffer;
  if (pixels.length === 0) throw new Error(`ffmpeg decoded no pixels from ${imagePath}`);
  const counts = new Array<number>(256).fill(0);
  let sum = 0;
  for (const p of pixels) {
    counts[p]++;
    sum += p;
  }
  const mean = sum / pixels.length;
  let squares = 0;
  for (let level = 0; level < 256; level++) squares += counts[level] * (level - mean) ** 2;
  return { stddev: Math.sqrt(squares / pixels.length), distinctLevels: counts.filter((n) => n > 0).length };
}

/** The page's DOM once `budgetMs` of virtual time passed (scripts ran, media metadata loaded). */
export async function dumpDom(
  url: string,
  options: { budgetMs?: number; timeoutMs?: number } = {},
): Promise<string> {
  return await chromium(
    url,
    ["--dump-dom", `--virtual-time-budget=${options.budgetMs ?? 10_000}`],
    options.timeoutMs ?? 60_000,
  );
}

/**
 * Loads `url` in headless Chromium, reads the report's video attributes from the DOM and takes a
 * screenshot of the top of the page. `budgetMs` is virtual time the page gets to load its media.
 */
export async function checkPageInChromium(
  url: string,
  options: { screenshotPath: string; budgetMs?: number; windowSize?: string; timeoutMs?: number },
): Promise<PageCheck> {
  const budget = `--virtual-time-budget=${options.budgetMs ?? 10_000}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dom = await dumpDom(url, { budgetMs: options.budgetMs, timeoutMs });
  const duration = bodyAttribute(dom, "data-video-duration");
  await rm(options.screenshotPath, { force: true });
  await chromium(url, [
    `--screenshot=${options.screenshotPath}`,
    `--window-size=${options.windowSize ?? "1280,1600"}`,
    "--hide-scrollbars",
    budget,
  ], timeoutMs);
  if (!(await stat(options.screenshotPath).catch(() => null))?.size) {
    throw new Error(`chromium wrote no screenshot to ${options.screenshotPath}`);
  }
  const { stddev, distinctLevels } = await greyLevels(options.screenshotPath);
  return {
    dom,
    videoDurationSeconds: duration === null ? null : Number(duration),
    videoError: bodyAttribute(dom, "data-video-error"),
    screenshotPath: options.screenshotPath,
    screenshotStddev: stddev,
    distinctLevels,
  };
}
