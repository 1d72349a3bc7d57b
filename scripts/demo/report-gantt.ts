/**
 * The report's Gantt chart as inline SVG: one row per task, a faint bar while it waited in the
 * queue and a solid one from its first claim to its end, coloured by kind, on a seconds axis from
 * the film's start; kills are red lines across every row. Bars stacked on top of each other at
 * the same x are what ran in parallel.
 */
import type { DemoReport, TaskReport } from "./report-types.ts";
import { escapeHtml } from "./html-escape.ts";

const LABEL_WIDTH = 300;
const CHART_WIDTH = 880;
const ROW = 16;
const AXIS = 24;
const KNOWN_COLOURS: Record<string, string> = {
  "film.produce": "#6c757d",
  "film.chain": "#1f77b4",
  "film.location_image": "#17becf",
  "film.voices": "#2ca02c",
  "film.mix": "#ff7f0e",
  "film.music": "#9467bd",
  render: "#d62728",
  local_media: "#8c564b",
};
const SPARE_COLOURS = ["#e377c2", "#bcbd22", "#7f7f7f", "#aec7e8", "#98df8a", "#ffbb78"];

export function kindColour(kind: string): string {
  if (KNOWN_COLOURS[kind]) return KNOWN_COLOURS[kind];
  let hash = 0;
  for (const c of kind) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return SPARE_COLOURS[hash % SPARE_COLOURS.length];
}

/** 1, 2, 5, 10, 15, 30, 60, ... seconds: about eight ticks across. */
function tickStep(totalSeconds: number): number {
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  return steps.find((s) => totalSeconds / s <= 10) ?? 7200;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function renderGantt(report: DemoReport): string {
  const tasks = report.tasks;
  if (tasks.length === 0) return `<p class="muted">No tasks were recorded for this film.</p>`;
  const now = Date.parse(report.generatedAt);
  const ms = (iso: string | null) => (iso ? Date.parse(iso) : now);
  const start = Math.min(Date.parse(report.film.createdAt), ...tasks.map((t) => ms(t.createdAt)));
  const end = Math.max(
    start + 1000,
    ...tasks.map((t) => ms(t.endedAt)),
    ...report.kills.map((k) => ms(k.at)),
    report.film.completedAt ? ms(report.film.completedAt) : start,
  );
  const total = (end - start) / 1000;
  const x = (t: number) => LABEL_WIDTH + ((t - start) / (end - start)) * CHART_WIDTH;
  const height = AXIS + tasks.length * ROW + 8;
  const width = LABEL_WIDTH + CHART_WIDTH + 20;

  const step = tickStep(total);
  const ticks: string[] = [];
  for (let s = 0; s <= total + 1e-9; s += step) {
    const tx = x(start + s * 1000).toFixed(1);
    ticks.push(
      `<line class="grid" x1="${tx}" x2="${tx}" y1="${AXIS - 4}" y2="${height}"/>` +
        `<text class="tick" x="${tx}" y="${AXIS - 8}" text-anchor="middle">${round1(s)} s</text>`,
    );
  }
  const rows = tasks.map((task, i) => taskRow(task, AXIS + i * ROW, x, ms, start));
  const kills = report.kills.map((k) => {
    const kx = x(ms(k.at)).toFixed(1);
    return `<g class="kill"><line x1="${kx}" x2="${kx}" y1="${AXIS - 4}" y2="${height}"/>` +
      `<title>${escapeHtml(`kill at ${round1((ms(k.at) - start) / 1000)} s: ${k.function}`)}</title></g>`;
  });
  const kinds = [...new Set(tasks.map((t) => t.kind))];
  const legend =
    kinds.map((k) =>
      `<span class="legend-item"><i style="background:${kindColour(k)}"></i>${escapeHtml(k)}</span>`
    ).join("") +
    `<span class="legend-item"><i class="queued-swatch"></i>queued</span>` +
    (report.kills.length ? `<span class="legend-item"><i class="kill-swatch"></i>kill</span>` : "");
  return `<div class="legend">${legend}</div>
<div class="gantt-scroll"><svg class="gantt" role="img" aria-label="Tasks over time" viewBox="0 0 ${width} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg">
${ticks.join("\n")}
${rows.join("\n")}
${kills.join("\n")}
</svg></div>`;
}

function taskRow(
  task: TaskReport,
  y: number,
  x: (t: number) => number,
  ms: (iso: string | null) => number,
  start: number,
): string {
  const colour = kindColour(task.kind);
  const queuedTo = task.startedAt ? ms(task.startedAt) : ms(task.endedAt);
  const from = ms(task.createdAt);
  const parts = [
    `<text class="row-label" x="${LABEL_WIDTH - 6}" y="${y + ROW - 4}" text-anchor="end">${
      escapeHtml(task.label)
    }</text>`,
  ];
  parts.push(
    `<rect class="queued" x="${x(from).toFixed(1)}" y="${y + 3}" width="${
      Math.max(0, x(queuedTo) - x(from)).toFixed(1)
    }" height="${ROW - 6}" fill="${colour}"/>`,
  );
  if (task.startedAt) {
    const runFrom = x(ms(task.startedAt));
    const runTo = x(ms(task.endedAt));
    parts.push(
      `<rect class="run status-${cssToken(task.status)}" x="${runFrom.toFixed(1)}" y="${y + 2}" width="${
        Math.max(1.5, runTo - runFrom).toFixed(1)
      }" height="${ROW - 4}" fill="${colour}"/>`,
    );
  }
  const seconds = (iso: string | null) => (iso ? `${round1((ms(iso) - start) / 1000)} s` : "—");
  const tip =
    `${task.label} (${task.kind}) ${task.status}: queued ${seconds(task.createdAt)}, started ${
      seconds(task.startedAt)
    }, ` +
    `ended ${task.endedAt ? seconds(task.endedAt) : "still running"}${
      task.failedAttempts ? `, ${task.failedAttempts} failed attempt(s)` : ""
    }`;
  return `<g class="task" data-kind="${escapeHtml(task.kind)}"><title>${escapeHtml(tip)}</title>${
    parts.join("")
  }</g>`;
}

/** A status as a class name: letters, digits, dashes only. */
export function cssToken(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
}
