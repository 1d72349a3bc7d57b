/**
 * The byte span of a single `Range: bytes=...` request header, as servers of video answer it
 * (players load and seek MP4 with ranges). Several ranges are answered with the whole file.
 */
export type ByteRange = { start: number; end: number };

/** null: no usable range (serve it all); "unsatisfiable": starts past the end (416). */
export function parseByteRange(
  header: string | null | undefined,
  size: number,
): ByteRange | "unsatisfiable" | null {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start: number;
  let end: number;
  if (match[1] === "") {
    // bytes=-N: the last N bytes.
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
