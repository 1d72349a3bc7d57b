/**
 * The demo's terminal view of a film in production: a bar per pipeline step and a line per scene,
 * drawn from the `status` a front end reads (produce-movie status). Pure: status in, lines out.
 */
import { FILM_STEPS, type MovieStatus, type SceneRow } from "../../shared/client/index.ts";

const BAR_WIDTH = 24;
const MARK: Record<string, string> = {
  completed: "✔",
  failed: "✘",
  skipped: "–",
  running: "▶",
  generating: "▶",
  pending: "·",
  cancelled: "✘",
};

export function bar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function progressLines(status: MovieStatus, kills = 0): string[] {
  const { movie, progress } = status;
  const head = `${movie.title} — ${movie.status} ${movie.progress}% · ${Math.round(status.elapsedSeconds)} s${
    kills ? ` · ${kills} workers killed` : ""
  }`;
  const lines = status.waiting ? [head, `⚠ ${status.waiting.message}`, ""] : [head, ""];
  for (const step of FILM_STEPS) {
    const s = progress?.steps?.[step];
    const state = s?.status ?? "pending";
    const percent = state === "completed" || state === "skipped" ? 100 : Math.round(s?.progress ?? 0);
    const detail = s?.detail ? `  ${clip(s.detail, 60)}` : "";
    lines.push(
      `${MARK[state] ?? " "} ${step.padEnd(20)} ${bar(percent / 100)} ${
        String(percent).padStart(3)
      }%${detail}`,
    );
  }
  if (status.scenes.length) lines.push("");
  for (const scene of status.scenes) lines.push(sceneLine(scene));
  return lines;
}

export function sceneLine(scene: SceneRow): string {
  const reference = scene.reference_image_source ? ` from ${scene.reference_image_source}` : "";
  const continues = scene.continues_from ? ` (continues ${scene.continues_from})` : "";
  const error = scene.error_message ? `  ${clip(scene.error_message, 60)}` : "";
  return `  scene ${String(scene.scene_number).padStart(2)}${continues.padEnd(15)} video ${
    MARK[scene.status] ?? "?"
  } ${scene.status.padEnd(10)}` +
    ` voices ${MARK[scene.audio_status] ?? "?"} ${scene.audio_status.padEnd(10)} mix ${
      MARK[scene.mix_status] ?? "?"
    } ${scene.mix_status.padEnd(9)}${reference}${error}`;
}

/**
 * Redraws the block in place on a terminal; elsewhere (CI logs, pipes) prints only lines that
 * changed since the last draw, so a log reads as a history.
 */
export function createProgressView(write: (text: string) => void, isTerminal: boolean) {
  let drawn: string[] = [];
  return {
    draw(lines: string[]) {
      if (isTerminal) {
        const up = drawn.length ? `\x1b[${drawn.length}A` : "";
        write(up + lines.map((line) => `\x1b[2K${line}\n`).join(""));
      } else {
        const changed = lines.filter((line, i) => i > 0 && line !== "" && !drawn.includes(line));
        if (changed.length) {
          write(changed.map((l) => `${new Date().toISOString().slice(11, 19)} ${l.trim()}\n`).join(""));
        }
      }
      drawn = lines;
    },
  };
}
