/**
 * The kinds of track an MP4 (ISO BMFF) file declares — each `trak`'s handler: `vide`, `soun`, ... —
 * read from its `moov` box as the file streams past. Edge Functions cannot run ffprobe, and a
 * provider's output must be known to carry sound before it is accepted (a lip-synced clip).
 */

/** A `moov` larger than this is not read (a few MB even for long films). */
const MAX_MOOV_BYTES = 32 * 1024 * 1024;

/** The handler types of the file's tracks, in order; null when no `moov` box is found. */
export async function mp4TrackKinds(
  body: ReadableStream<Uint8Array>,
  maxMoovBytes = MAX_MOOV_BYTES,
): Promise<string[] | null> {
  const reader = body.getReader();
  let held: Uint8Array = new Uint8Array(0);
  // At least n bytes held, unless the file ends first; the parts are joined once.
  const hold = async (n: number) => {
    if (held.length >= n) return true;
    const parts = [held];
    let length = held.length;
    while (length < n) {
      const { done, value } = await reader.read();
      if (done) return false;
      parts.push(value);
      length += value.length;
    }
    held = join(parts, length);
    return true;
  };
  try {
    while (await hold(8)) {
      let size = u32(held, 0);
      let header = 8;
      if (size === 1) {
        if (!(await hold(16))) return null;
        size = u64(held, 8);
        header = 16;
      }
      // Size 0: the rest of the file is this one box (mdat, in practice), so no moov follows it.
      if (size < header) return null;
      if (ascii(held, 4) === "moov") {
        return size <= maxMoovBytes && (await hold(size)) ? trackKinds(held.subarray(header, size)) : null;
      }
      // Any other box (mdat above all) streams past without being held.
      let skip = size;
      while (skip > held.length) {
        skip -= held.length;
        const { done, value } = await reader.read();
        if (done) return null;
        held = value;
      }
      held = held.subarray(skip);
    }
    return null;
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function trackKinds(moov: Uint8Array): string[] {
  const kinds: string[] = [];
  for (const trak of children(moov, "trak")) {
    for (const mdia of children(trak, "mdia")) {
      // hdlr is a full box: version and flags, pre_defined, then handler_type.
      for (const hdlr of children(mdia, "hdlr")) if (hdlr.length >= 12) kinds.push(ascii(hdlr, 8));
    }
  }
  return kinds;
}

/** The payloads of the boxes of `type` directly inside `bytes`. */
function* children(bytes: Uint8Array, type: string): Generator<Uint8Array> {
  for (let at = 0; at + 8 <= bytes.length;) {
    let size = u32(bytes, at);
    let header = 8;
    if (size === 1 && at + 16 <= bytes.length) {
      size = u64(bytes, at + 8);
      header = 16;
    } else if (size === 0) size = bytes.length - at;
    if (size < header || at + size > bytes.length) return;
    if (ascii(bytes, at + 4) === type) yield bytes.subarray(at + header, at + size);
    at += size;
  }
}

function join(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const u32 = (bytes: Uint8Array, at: number) => view(bytes).getUint32(at);
const u64 = (bytes: Uint8Array, at: number) => Number(view(bytes).getBigUint64(at));
const ascii = (bytes: Uint8Array, at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
