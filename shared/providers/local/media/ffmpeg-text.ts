/**
 * Captions and colours for the local media: text goes to FFmpeg's drawtext through a file (no
 * escaping of user text inside a filter graph), in DejaVu Sans from Debian's fonts-dejavu-core.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashText } from "../seeded-random.ts";

const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/** `fontfile=...:` when a known font exists; otherwise drawtext falls back to fontconfig's default. */
export function fontOption(): string {
  const font = FONT_CANDIDATES.find((path) => existsSync(path));
  return font ? `fontfile=${filterValue(font)}:` : "";
}

/** Paths inside filter options: plain ones only, so no filter-graph quoting is ever needed. */
export function filterValue(path: string): string {
  if (!/^[\w./-]+$/.test(path)) throw new Error(`path not usable in an FFmpeg filter graph: ${path}`);
  return path;
}

/** Wraps text at word boundaries into at most `maxLines` lines, ellipsis when cut. */
export function wrapText(text: string, maxChars: number, maxLines: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.replace(/\s+/g, " ").trim().split(" ")) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= maxChars) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = word.slice(0, maxChars);
  }
  if (line) lines.push(line);
  const kept = lines.slice(0, maxLines);
  if (lines.length > maxLines) kept[maxLines - 1] = `${kept[maxLines - 1].slice(0, maxChars - 1)}…`;
  return kept.join("\n");
}

/** Writes the text where drawtext's `textfile` reads it; returns the filter fragment. */
export async function drawTextFile(
  workDir: string,
  name: string,
  text: string,
  style: string,
): Promise<string> {
  const file = join(workDir, `${name}.txt`);
  // drawtext expands %{...} sequences unless expansion is off, so a prompt cannot run expressions.
  await writeFile(file, text);
  return `drawtext=${fontOption()}textfile=${filterValue(file)}:expansion=none:${style}`;
}

/** A stable colour per text and slot, as FFmpeg's 0xRRGGBB. */
export function colorFor(text: string, slot: number, lightness: "dark" | "light"): string {
  const hash = hashText(`${slot}|${text}`);
  const base = lightness === "dark" ? 0x18 : 0x90;
  const channel = (shift: number) => (base + ((hash >>> shift) & 0x5f)).toString(16).padStart(2, "0");
  return `0x${channel(0)}${channel(8)}${channel(16)}`;
}
