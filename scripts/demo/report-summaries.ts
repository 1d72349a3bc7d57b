/** Pure shaping of a film's rows into the report's step table, task labels and summary numbers. */
import { FILM_STEPS } from "../../shared/film/film-progress.ts";
import type { MovieQuote } from "../../shared/client/movies.ts";
import type { QuoteReport, StepReport, StepStatus, TaskReport } from "./report-types.ts";
import type { JobLink, MetricRow, ProgressSteps, TaskRow } from "./report-queries.ts";

const PROGRESS_STATUSES: StepStatus[] = ["pending", "running", "completed", "failed", "skipped"];
const seconds = (from: Date | string, to: Date | string) =>
  Math.max(0, (new Date(to).getTime() - new Date(from).getTime()) / 1000);

/**
 * One row per film step without paid calls (its movie_creation_progress entry) and one per
 * step × provider/model × cost unit of movie_step_metrics, in the film's step order. A call still
 * without a cost unit (in flight) joins its provider's row.
 */
export function summarizeSteps(progress: ProgressSteps, metrics: MetricRow[]): StepReport[] {
  const groups = new Map<string, MetricRow[]>();
  const unitOf = new Map<string, string | null>();
  for (const m of metrics) {
    const who = `${m.step}\u0000${m.provider ?? ""}\u0000${m.model ?? ""}`;
    if (m.cost_unit && !unitOf.has(who)) unitOf.set(who, m.cost_unit);
  }
  for (const m of metrics) {
    const who = `${m.step}\u0000${m.provider ?? ""}\u0000${m.model ?? ""}`;
    const key = `${who}\u0000${m.cost_unit ?? unitOf.get(who) ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const stepNames = [...new Set([...FILM_STEPS, ...Object.keys(progress), ...metrics.map((m) => m.step)])];
  const rows: StepReport[] = [];
  for (const name of stepNames) {
    const calls = [...groups.values()].filter((g) => g[0].step === name);
    if (calls.length) {
      rows.push(...calls.map(callRow).sort((a, b) => (a.startedAt ?? "").localeCompare(b.startedAt ?? "")));
    } else if (progress[name]) rows.push(progressRow(name, progress[name]));
  }
  return rows;
}

function progressRow(name: string, p: ProgressSteps[string]): StepReport {
  const status = PROGRESS_STATUSES.find((s) => s === p.status) ?? "pending";
  return {
    name,
    status,
    ...(p.started_at ? { startedAt: new Date(p.started_at).toISOString() } : {}),
    ...(p.finished_at ? { completedAt: new Date(p.finished_at).toISOString() } : {}),
    seconds: p.started_at && p.finished_at ? seconds(p.started_at, p.finished_at) : 0,
    ...(p.detail ? { detail: p.detail } : {}),
  };
}

function callRow(calls: MetricRow[]): StepReport {
  const first = calls[0];
  const started = new Date(Math.min(...calls.map((c) => c.started_at.getTime())));
  const finished = calls.filter((c) => c.finished_at).map((c) => c.finished_at!.getTime());
  const ended = finished.length ? new Date(Math.max(...finished)) : null;
  const failed = calls.filter((c) => c.phase === "failed").length;
  const inFlight = calls.some((c) => c.phase === "intent" || c.phase === "submitted");
  const priced = calls.filter((c) => c.cost_units !== null);
  const unit = calls.find((c) => c.cost_unit)?.cost_unit;
  return {
    name: first.step,
    status: inFlight ? "running" : failed === calls.length ? "failed" : "completed",
    startedAt: started.toISOString(),
    ...(ended ? { completedAt: ended.toISOString() } : {}),
    seconds: ended ? seconds(started, ended) : 0,
    busySeconds: calls.reduce(
      (sum, c) => sum + (c.finished_at ? seconds(c.started_at, c.finished_at) : 0),
      0,
    ),
    calls: calls.length,
    failedCalls: failed,
    ...(first.provider ? { provider: first.provider } : {}),
    ...(first.model ? { model: first.model } : {}),
    ...(priced.length ? { costUnits: priced.reduce((sum, c) => sum + Number(c.cost_units), 0) } : {}),
    ...(unit ? { costUnit: unit } : {}),
  };
}

/** A short name for a task's bar: what it made, and for which scene. */
export function taskLabel(task: Pick<TaskRow, "kind" | "payload">, job?: JobLink): string {
  const p = task.payload;
  const scene = p.sceneNumber ?? job?.sceneNumber;
  const ofScene = scene === undefined || scene === null ? "" : ` · scene ${scene}`;
  switch (task.kind) {
    case "film.produce":
      return "produce film";
    case "film.chain":
      return `clips · scene${p.scenes?.length === 1 ? "" : "s"} ${(p.scenes ?? []).join("→")}`;
    case "film.voices":
      return `voices${ofScene}`;
    case "film.mix":
      return `mix${ofScene}`;
    case "film.music":
      return "music";
    case "film.location_image":
      return `location image · ${p.locationSlug ?? "?"} (${p.timeOfDay ?? "?"}, ${p.weather ?? "?"})`;
    case "render":
    case "local_media": {
      // Step names like `scene-3:end-frame` already say the scene.
      const sceneNamed = job?.stepName.startsWith("scene-") ?? false;
      return `${task.kind === "render" ? "render" : "local"} ${p.op ?? "job"}${
        job ? ` · ${job.stepName}` : ""
      }${sceneNamed ? "" : ofScene}`;
    }
    default:
      return `${task.kind}${ofScene}`;
  }
}

/** The film's wall time: created → completed, or to the last task's end (or now) while unfinished. */
export function filmWallSeconds(
  createdAt: Date,
  completedAt: Date | null,
  tasks: TaskReport[],
  now: Date,
): number {
  if (completedAt) return seconds(createdAt, completedAt);
  const running = tasks.some((t) => t.startedAt && !t.endedAt);
  const ends = tasks.map((t) => (t.endedAt ? new Date(t.endedAt).getTime() : 0));
  return seconds(createdAt, running || ends.length === 0 ? now : new Date(Math.max(...ends)));
}

/**
 * Most tasks between their first claim and their end at any one moment (still running: until
 * `now`). Not the produce task: its bar spans the film while it waits for its children.
 */
export function maxParallelTasks(tasks: TaskReport[], now: Date): number {
  const edges: [number, number][] = [];
  for (const t of tasks) {
    if (!t.startedAt || t.kind === "film.produce") continue;
    edges.push([new Date(t.startedAt).getTime(), 1], [
      t.endedAt ? new Date(t.endedAt).getTime() : now.getTime(),
      -1,
    ]);
  }
  // Ends before starts at the same instant: a hand-over is not overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, running += delta);
  return most;
}

/**
 * The quote's lines beside the film's calls and cost units of the same provider, model and unit
 * (a call without a cost unit yet counts as a call); calls the quote did not foresee get rows too.
 */
export function quoteBesideSpend(quote: MovieQuote, metrics: MetricRow[]): QuoteReport {
  const rows: QuoteReport["rows"] = quote.perProvider.map((p) => ({
    provider: p.provider,
    model: p.model,
    type: p.type,
    unit: p.unit,
    paid: p.paid,
    quotedCalls: p.calls,
    quotedUnits: p.units,
    spentCalls: 0,
    spentUnits: 0,
  }));
  for (const m of metrics) {
    const same = rows.filter((r) => r.provider === m.provider && r.model === m.model);
    let row = same.find((r) => r.unit === m.cost_unit) ?? (m.cost_unit === null ? same[0] : undefined);
    if (!row) {
      row = {
        provider: m.provider ?? "",
        model: m.model ?? "",
        type: "",
        unit: m.cost_unit ?? "",
        paid: same[0]?.paid ?? false,
        quotedCalls: 0,
        quotedUnits: 0,
        spentCalls: 0,
        spentUnits: 0,
      };
      rows.push(row);
    }
    row.spentCalls += 1;
    row.spentUnits += Number(m.cost_units ?? 0);
  }
  return { rows, expectedWallSeconds: quote.expectedWallSeconds, estimates: quote.estimates };
}
