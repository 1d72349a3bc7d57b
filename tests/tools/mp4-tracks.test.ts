/**
 * mp4TrackKinds, the check Edge Functions make instead of ffprobe: files made by FFmpeg with and
 * without sound, moov first or last or fragmented, streamed in chunks that split every box header.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mp4TrackKinds } from "../../shared/media/mp4-tracks.ts";

const dir = mkdtempSync(join(tmpdir(), "reelforge-mp4-tracks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function make(name: string, args: string[]): Uint8Array {
  const file = join(dir, name);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args, file]);
  return new Uint8Array(readFileSync(file));
}

const PICTURE = ["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=1"];
const SOUND = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"];

/** The bytes as a stream of `size`-byte chunks. */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

describe("mp4TrackKinds", () => {
  it.each(
    [
      ["picture and sound, moov first", [...PICTURE, ...SOUND, "-movflags", "+faststart"], "a.mp4", [
        "soun",
        "vide",
      ]],
      ["picture and sound, moov after mdat", [...PICTURE, ...SOUND], "b.mp4", ["soun", "vide"]],
      [
        "picture and sound, fragmented",
        [...PICTURE, ...SOUND, "-movflags", "frag_keyframe+empty_moov"],
        "c.mp4",
        [
          "soun",
          "vide",
        ],
      ],
      ["picture alone", PICTURE, "d.mp4", ["vide"]],
      ["sound alone (m4a)", SOUND, "e.m4a", ["soun"]],
    ] as const,
  )("reads %s", async (_, args, name, kinds) => {
    const bytes = make(name, [...args]);
    for (const size of [7, 64 * 1024]) {
      expect((await mp4TrackKinds(streamOf(bytes, size)))?.sort()).toEqual(kinds);
    }
  });

  it("answers null for what is not an MP4, and for a moov over the limit", async () => {
    const mp3 = make("f.mp3", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libmp3lame"]);
    expect(await mp4TrackKinds(streamOf(mp3, 1024))).toBeNull();
    const mp4 = make("g.mp4", [...PICTURE, ...SOUND]);
    expect(await mp4TrackKinds(streamOf(mp4, 1024), 100)).toBeNull();
  });

  it("stops reading once it has the moov", async () => {
    const bytes = make("h.mp4", [...PICTURE, ...SOUND, "-movflags", "+faststart"]);
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes.slice(pulled, pulled + 256));
        pulled += 256;
      },
    });
    await mp4TrackKinds(stream);
    expect(pulled).toBeLessThan(bytes.length / 2);
  });
});
