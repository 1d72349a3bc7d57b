/**
 * A report's media: files downloaded into `<outDir>/media/` — our own objects read from the private
 * bucket with the service role (their stored addresses do not serve), others fetched — scene
 * thumbnails cut from the clips with FFmpeg, durations read with ffprobe. A file that cannot be
 * had becomes a warning in the report, not a failed report.
 */
import { execFile } from "node:child_process";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { promisify } from "node:util";
import { objectOfUrl } from "../../shared/storage/signed-urls.ts";
import type { ObjectStorage } from "../../shared/storage/storage.ts";

const run = promisify(execFile);
const KNOWN_EXTENSIONS = new Set([
  ".mp4",
  ".webm",
  ".mov",
  ".png",
  ".jpg",
  ".jpeg",
  ".webp",
  ".gif",
  ".mp3",
  ".wav",
  ".m4a",
  ".ogg",
  ".aac",
]);
const EXTENSION_OF_TYPE: Record<string, string> = {
  "video/mp4": ".mp4",
  "video/webm": ".webm",
  "image/png": ".png",
  "image/jpeg": ".jpg",
  "image/webp": ".webp",
  "audio/mpeg": ".mp3",
  "audio/wav": ".wav",
  "audio/x-wav": ".wav",
  "audio/mp4": ".m4a",
  "audio/ogg": ".ogg",
};

/** `.mp4` from the URL's path (its ?v= query ignored), else from the content type. */
export function mediaExtension(url: string, contentType: string | null): string {
  const fromPath = extname(new URL(url).pathname).toLowerCase();
  if (KNOWN_EXTENSIONS.has(fromPath)) return fromPath;
  return EXTENSION_OF_TYPE[(contentType ?? "").split(";")[0].trim().toLowerCase()] ?? ".bin";
}

export interface MediaFetcherOptions {
  outDir: string;
  /** Reads URLs that are addresses of ours (shared/storage/signed-urls.ts objectOfUrl); without it every URL is fetched. */
  storage?: ObjectStorage;
  timeoutMs?: number;
}

export function createMediaFetcher(options: MediaFetcherOptions) {
  const { outDir } = options;
  const warnings: string[] = [];
  // One file per URL: a scene's end frame is often the next scene's reference image.
  const saved = new Map<string, Promise<string | null>>();
  let mediaDir: Promise<unknown> | null = null;

  async function fetchToFile(source: string, baseName: string): Promise<string | null> {
    try {
      mediaDir ??= mkdir(join(outDir, "media"), { recursive: true });
      await mediaDir;
      const ours = options.storage ? objectOfUrl(options.storage, source) : null;
      if (ours) {
        const bytes = await options.storage!.download(ours.bucket, ours.path);
        if (!bytes) throw new Error("not in Storage");
        const file = `media/${baseName}${mediaExtension(source, null)}`;
        await writeFile(join(outDir, file), bytes);
        return file;
      }
      const response = await fetch(source, { signal: AbortSignal.timeout(options.timeoutMs ?? 120_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const file = `media/${baseName}${mediaExtension(source, response.headers.get("content-type"))}`;
      await writeFile(join(outDir, file), new Uint8Array(await response.arrayBuffer()));
      return file;
    } catch (error) {
      warnings.push(`${baseName}: could not download ${source}: ${(error as Error).message}`);
      return null;
    }
  }

  return {
    warnings,

    /** Saves the URL as `media/<baseName>.<ext>`; null (and a warning) when there is none or it fails. */
    download(url: string | null | undefined, baseName: string): Promise<string | null> {
      if (!url) return Promise.resolve(null);
      if (!saved.has(url)) saved.set(url, fetchToFile(url, baseName));
      return saved.get(url)!;
    },

    /** A JPEG of the clip half a second in (its first frame when shorter), at most 480 px wide. */
    async thumbnail(videoFile: string, fileName: string): Promise<string | null> {
      const file = `media/${fileName}`;
      for (const at of ["0.5", "0"]) {
        try {
          await run("ffmpeg", [
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-ss",
            at,
            "-i",
            join(outDir, videoFile),
            "-frames:v",
            "1",
            "-vf",
            "scale='min(480,iw)':-2",
            "-q:v",
            "4",
            join(outDir, file),
          ]);
          if (((await stat(join(outDir, file)).catch(() => null))?.size ?? 0) > 0) return file;
        } catch (error) {
          if (at === "0") {
            warnings.push(
              `${fileName}: ffmpeg could not cut a frame from ${videoFile}: ${
                (error as Error).message.slice(0, 300)
              }`,
            );
          }
        }
      }
      return null;
    },

    /** The container's duration in seconds (what a player shows); null when ffprobe cannot read it. */
    async durationOf(mediaFile: string): Promise<number | null> {
      try {
        const { stdout } = await run("ffprobe", [
          "-v",
          "error",
          "-show_entries",
          "format=duration",
          "-of",
          "csv=p=0",
          join(outDir, mediaFile),
        ]);
        const seconds = Number(stdout.trim());
        return Number.isFinite(seconds) ? seconds : null;
      } catch (error) {
        warnings.push(`${mediaFile}: ffprobe could not read it: ${(error as Error).message.slice(0, 300)}`);
        return null;
      }
    },
  };
}

/** Maps with at most `limit` calls in flight, results in input order. */
export async function mapConcurrently<T, R>(
  items: T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await map(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
