/**
 * Content types by file extension, for objects stored without one (files put into the local
 * stack's storage dir by hand, or before it kept metadata).
 */
const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mov": "video/quicktime",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".m4a": "audio/mp4",
  ".ogg": "audio/ogg",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".srt": "application/x-subrip",
  ".vtt": "text/vtt",
  ".html": "text/html; charset=utf-8",
  ".pdf": "application/pdf",
};

/** Supabase Storage's own default for an upload without a Content-Type. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

export function contentTypeFromExtension(path: string): string {
  const dot = path.lastIndexOf(".");
  const extension = dot > path.lastIndexOf("/") ? path.slice(dot).toLowerCase() : "";
  return CONTENT_TYPES[extension] ?? DEFAULT_CONTENT_TYPE;
}
