/**
 * The demo's report page: one static `index.html` with inline CSS and script, media by relative
 * path under `media/`. Shows the film, its poster, the scenes, a Gantt chart of the tasks, time
 * and cost per step, and the kills of a chaos run. Every text from the database is escaped.
 * Once the film's metadata loads, the page sets `data-video-duration` on <body> (or
 * `data-video-error`): the browser test reads it from the DOM.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DemoReport, SceneReport, StepReport } from "./report-types.ts";
import { cssToken, renderGantt } from "./report-gantt.ts";
import { escapeHtml as h, mediaHref } from "./html-escape.ts";
import { REPORT_CSS } from "./report-style.ts";

const SOURCE_NAMES: Record<string, string> = {
  previous_frame: "previous frame",
  library: "library image",
  generated: "generated image",
  previous_shot: "previous shot's last frame",
};
const round1 = (n: number) => (Math.round(n * 10) / 10).toLocaleString("en-US");
const offset = (report: DemoReport, iso: string | undefined | null) =>
  iso ? `${round1((Date.parse(iso) - Date.parse(report.film.createdAt)) / 1000)} s` : "—";

/** Writes `<outDir>/index.html`; returns its path. */
export async function renderReport(report: DemoReport, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, "index.html");
  await writeFile(file, reportHtml(report));
  return file;
}

export function reportHtml(report: DemoReport): string {
  const { film, summary } = report;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(film.title)} · Reelforge demo</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header>
  <h1>${h(film.title)} <span class="badge status-${cssToken(film.status)}">${h(film.status)}</span></h1>
  <p class="prompt">${h(film.prompt)}</p>
  ${film.errorMessage ? `<p class="error">${h(film.errorMessage)}</p>` : ""}
  <dl class="stats">
    ${stat("wall time", `${round1(summary.wallSeconds)} s`)}
    ${stat("film length asked / rendered", filmLength(film))}
    ${
    stat(
      "scenes",
      summary.failedScenes ? `${summary.scenes} (${summary.failedScenes} failed)` : String(summary.scenes),
    )
  }
    ${stat("tasks", String(summary.tasks))}
    ${stat("most at once", String(summary.maxParallelTasks))}
    ${stat("retried tasks", String(summary.retriedTasks))}
    ${stat("kills", String(summary.kills))}
  </dl>
</header>
${report.kills.length ? chaosSection(report) : ""}
<section class="film">
  <div class="player">
    <h2>Film</h2>
    ${
    film.videoFile
      ? `<video id="film" controls preload="metadata" src="${mediaHref(film.videoFile)}"${
        film.posterFile ? ` poster="${mediaHref(film.posterFile)}"` : ""
      }></video>`
      : `<p class="muted">No film file${
        film.status === "completed" ? "" : ` (the film is ${h(film.status)})`
      }.</p>`
  }
  </div>
  <div class="poster">
    <h2>Poster</h2>
    ${
    film.posterFile
      ? `<img src="${mediaHref(film.posterFile)}" alt="Poster of ${h(film.title)}">`
      : `<p class="muted">No poster.</p>`
  }
  </div>
</section>
<section>
  <h2>Scenes</h2>
  <div class="scenes">${report.scenes.map(sceneCard).join("\n")}</div>
</section>
<section>
  <h2>Tasks over time</h2>
  ${renderGantt(report)}
</section>
<section>
  <h2>Time and cost per step</h2>
  <p class="muted">Wall: first start to last end. Busy: the calls' own times added up (more than wall when they ran side by side).
  Cost in each provider's own units; the demo's providers are simulated.</p>
  ${stepsTable(report)}
</section>
${report.quote ? quoteSection(report) : ""}
<footer>
  ${
    report.warnings.length
      ? `<details open><summary>${report.warnings.length} warning(s)</summary><ul>${
        report.warnings.map((w) => `<li>${h(w)}</li>`).join("")
      }</ul></details>`
      : ""
  }
  <p>Generated ${h(report.generatedAt)} on ${h(report.machine)} · movie ${h(film.movieId)}</p>
</footer>
<script>
(function () {
  var video = document.getElementById("film");
  if (!video) { document.body.dataset.videoError = "no video element"; return; }
  function loaded() { document.body.dataset.videoDuration = String(video.duration); }
  function failed() {
    var e = video.error;
    document.body.dataset.videoError = e ? e.code + " " + (e.message || "") : "error";
  }
  video.addEventListener("loadedmetadata", loaded);
  video.addEventListener("error", failed);
  if (video.readyState >= 1) loaded();
  else if (video.error) failed();
})();
</script>
</body>
</html>
`;
}

const stat = (label: string, value: string) => `<div><dt>${h(label)}</dt><dd>${h(value)}</dd></div>`;

/** "180 s / 179.2 s (−0.4 %)": the length asked beside what the film plays. */
function filmLength(film: DemoReport["film"]): string {
  if (film.durationSeconds === null) return `${round1(film.askedSeconds)} s / —`;
  const off = film.askedSeconds > 0
    ? ((film.durationSeconds - film.askedSeconds) / film.askedSeconds) * 100
    : 0;
  return `${round1(film.askedSeconds)} s / ${round1(film.durationSeconds)} s (${off >= 0 ? "+" : "−"}${
    round1(Math.abs(off))
  } %)`;
}

/** The scene's shots in order: number, length, where its first frame came from. */
function shotList(scene: SceneReport): string {
  if (!scene.shots.length) return "";
  const items = scene.shots.map((shot) =>
    `<li class="status-${cssToken(shot.status)}">shot ${shot.shotNumber}: ${
      round1(shot.durationSeconds)
    } s, from ${
      h(
        shot.referenceImageSource
          ? SOURCE_NAMES[shot.referenceImageSource] ?? shot.referenceImageSource
          : "—",
      )
    }${
      shot.status === "completed"
        ? ""
        : ` <span class="badge status-${cssToken(shot.status)}">${h(shot.status)}</span>`
    }${shot.errorMessage ? ` <span class="error">${h(shot.errorMessage)}</span>` : ""}</li>`
  );
  return `<ol class="shots">${items.join("")}</ol>`;
}

function chaosSection(report: DemoReport): string {
  const n = report.kills.length;
  const what = `${n} kill${n === 1 ? "" : "s"}`;
  const verdict = report.film.status === "completed"
    ? `<p class="verdict ok">Film completed despite ${what}.</p>`
    : `<p class="verdict bad">Film ended ${h(report.film.status)} after ${what}.</p>`;
  const rows = report.kills.map((k) =>
    `<li><time datetime="${h(k.at)}">${offset(report, k.at)}</time> killed <code>${h(k.function)}</code></li>`
  );
  return `<section class="chaos"><h2>Chaos</h2>${verdict}<ol class="kills">${rows.join("")}</ol></section>`;
}

function sceneCard(scene: SceneReport): string {
  const source = scene.referenceImageSource;
  const picture = (file: string | undefined, alt: string, caption: string) =>
    file
      ? `<figure><img src="${mediaHref(file)}" alt="${h(alt)}" loading="lazy"><figcaption>${
        h(caption)
      }</figcaption></figure>`
      : "";
  const thumb = scene.thumbnailFile
    ? (scene.videoFile
      ? `<a href="${mediaHref(scene.videoFile)}">${
        picture(scene.thumbnailFile, `Scene ${scene.sceneNumber}`, "clip")
      }</a>`
      : picture(scene.thumbnailFile, `Scene ${scene.sceneNumber}`, "clip"))
    : `<div class="no-image">no clip</div>`;
  const lines = scene.lines.map((line) =>
    `<li><b>${h(line.character)}</b>: ${h(line.text)}` +
    (line.audioFile ? `<audio controls preload="none" src="${mediaHref(line.audioFile)}"></audio>` : "") +
    (line.errorMessage ? `<span class="error">${h(line.errorMessage)}</span>` : "") + `</li>`
  );
  return `<article class="scene status-${cssToken(scene.status)}">
  <h3>Scene ${scene.sceneNumber} <span class="badge status-${cssToken(scene.status)}">${
    h(scene.status)
  }</span>
    ${
    source
      ? `<span class="badge source-${cssToken(source)}">ref: ${h(SOURCE_NAMES[source] ?? source)}</span>`
      : `<span class="badge">ref: none</span>`
  }</h3>
  <div class="frames">${thumb}${
    picture(scene.endFrameFile, `Scene ${scene.sceneNumber} end frame`, "end frame")
  }${picture(scene.referenceImageFile, `Scene ${scene.sceneNumber} reference image`, "reference")}</div>
  ${
    scene.durationSeconds === undefined
      ? ""
      : `<p class="muted">${round1(scene.durationSeconds)} s in ${scene.shots.length} shot${
        scene.shots.length === 1 ? "" : "s"
      }</p>`
  }
  ${shotList(scene)}
  ${scene.errorMessage ? `<p class="error">${h(scene.errorMessage)}</p>` : ""}
  ${lines.length ? `<ul class="lines">${lines.join("")}</ul>` : `<p class="muted">No dialogue.</p>`}
</article>`;
}

function stepsTable(report: DemoReport): string {
  const rows = report.steps.map((s: StepReport) =>
    `<tr class="status-${cssToken(s.status)}">
  <td>${h(s.name)}</td><td>${
      s.provider ? h(`${s.provider}${s.model ? ` / ${s.model}` : ""}`) : `<span class="muted">—</span>`
    }</td>
  <td><span class="badge status-${cssToken(s.status)}">${h(s.status)}</span>${
      s.detail ? ` <span class="muted">${h(s.detail)}</span>` : ""
    }</td>
  <td class="num">${
      s.calls === undefined ? "" : s.failedCalls ? `${s.calls} (${s.failedCalls} failed)` : s.calls
    }</td>
  <td class="num">${offset(report, s.startedAt)}</td><td class="num">${round1(s.seconds)}</td>
  <td class="num">${s.busySeconds === undefined ? "" : round1(s.busySeconds)}</td>
  <td class="num">${
      s.costUnits === undefined ? "" : h(`${round1(s.costUnits)} ${s.costUnit ?? ""}`)
    }</td></tr>`
  );
  const totals = new Map<string, number>();
  for (const s of report.steps) {
    if (s.costUnits !== undefined) {
      totals.set(s.costUnit ?? "units", (totals.get(s.costUnit ?? "units") ?? 0) + s.costUnits);
    }
  }
  const total = [...totals].map(([unit, n]) => `${round1(n)} ${unit}`).join(", ");
  return `<table class="steps">
<thead><tr><th>Step</th><th>Provider / model</th><th>Status</th><th>Calls</th><th>Started</th><th>Wall s</th><th>Busy s</th><th>Cost</th></tr></thead>
<tbody>${rows.join("\n")}</tbody>
<tfoot><tr><td colspan="7">Total cost</td><td class="num">${h(total || "—")}</td></tr></tfoot>
</table>`;
}

/** produce-movie quote (asked before start) beside what the film spent, provider by provider. */
function quoteSection(report: DemoReport): string {
  const quote = report.quote!;
  const rows = quote.rows.map((r) =>
    `<tr><td>${h(`${r.provider} / ${r.model}`)}</td><td>${h(r.type)}</td><td>${r.paid ? "paid" : "ours"}</td>
  <td class="num">${r.quotedCalls}</td><td class="num">${r.spentCalls}</td>
  <td class="num">${h(`${round1(r.quotedUnits)} ${r.unit}`)}</td><td class="num">${
      h(`${round1(r.spentUnits)} ${r.unit}`)
    }</td></tr>`
  );
  return `<section>
  <h2>Quote and spend</h2>
  <p class="muted">The quote was asked before the film started (produce-movie quote); expected wall time ${
    round1(quote.expectedWallSeconds)
  } s, actual ${round1(report.summary.wallSeconds)} s. Estimates: ${h(quote.estimates.join("; "))}.</p>
  <table class="steps">
<thead><tr><th>Provider / model</th><th>Type</th><th></th><th>Calls quoted</th><th>Calls made</th><th>Units quoted</th><th>Units spent</th></tr></thead>
<tbody>${rows.join("\n")}</tbody>
</table>
</section>`;
}
