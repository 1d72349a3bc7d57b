/** Text and paths made safe for HTML: titles, prompts and dialogue are the user's input. */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** For element text and quoted attribute values alike. */
export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A relative media path (`media/scene-001-thumb.jpg`) as an attribute value: each segment URL-encoded. */
export function mediaHref(path: string): string {
  return escapeHtml(path.split("/").map(encodeURIComponent).join("/"));
}
