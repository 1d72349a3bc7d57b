/**
 * The film's DAG as the pipeline runs it, with a weight per node, and the two yardsticks a film's
 * wall time is held against: the critical path (longest chain of dependent work — the best any
 * scheduler can do with unlimited parallelism) and the one-by-one order (every piece of
 * work one after another: preproduction, each scene's image → each shot's clip → its end frame →
 * the shots joined, then every voice line, music, assembly, cover). Pure and runtime-neutral
 * (vitest and the Deno benchmark).
 *
 * Weights: a provider job weighs its fake's fixed latency; render work (FFmpeg on the render
 * worker) weighs its measured run time (the render task's started_at → finished_at), since it is
 * real work, not orchestration. Everything else — polling, hand-offs, queueing, copies into
 * Storage — is what the wall time adds on top: the orchestration overhead.
 */
import type { FilmLatencies } from "../fakes/start-fakes.ts";

export interface DagNode {
  id: string;
  /** Time this node takes when its own parallel parts run at once. */
  ms: number;
  after: string[];
  /** Time it takes running its parts one by one (default ms). */
  sequentialMs?: number;
}

export function criticalPath(nodes: DagNode[]): { ms: number; path: string[] } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const memo = new Map<string, { ms: number; path: string[] }>();
  const visiting = new Set<string>();
  const finish = (id: string): { ms: number; path: string[] } => {
    const known = memo.get(id);
    if (known) return known;
    const node = byId.get(id);
    if (!node) throw new Error(`DAG node ${id} is referenced but not defined`);
    if (visiting.has(id)) throw new Error(`DAG has a cycle through ${id}`);
    visiting.add(id);
    let best = { ms: 0, path: [] as string[] };
    for (const before of node.after) {
      const candidate = finish(before);
      if (candidate.ms > best.ms) best = candidate;
    }
    visiting.delete(id);
    const result = { ms: best.ms + node.ms, path: [...best.path, id] };
    memo.set(id, result);
    return result;
  };
  return nodes.reduce((best, node) => {
    const candidate = finish(node.id);
    return candidate.ms > best.ms ? candidate : best;
  }, { ms: 0, path: [] as string[] });
}

export function sequentialTime(nodes: DagNode[]): number {
  return nodes.reduce((sum, node) => sum + (node.sequentialMs ?? node.ms), 0);
}

export interface FilmDagScene {
  sceneNumber: number;
  continuesFrom: number | null;
  /** The scene's reference image was generated (not the previous end frame or the library). */
  generatedReference: boolean;
  /** Its clip was made (a failed scene still paid for its attempt but has no end frame or mix). */
  clipMade: boolean;
  lines: number;
  /**
   * Shots the scene is cut into (default 1), made in order: each shot's clip starts from the end
   * frame of the one before; more than one are joined into the scene's clip by a render job.
   */
  shots?: number;
}

export interface FilmDagInput {
  latencies: FilmLatencies;
  scenes: FilmDagScene[];
  portraits: number;
  music: boolean;
  cover: boolean;
  /**
   * Measured render run times, ms; missing ones weigh 0. `endFrame` is per scene, one per shot in
   * order (a number: the only shot's); `join` is a multi-shot scene's join of its shots; `mix` is a
   * scene's finishing step: the mix render, or with lip sync its dialogue-track render plus the lip
   * sync job's latency.
   */
  renderMs: {
    endFrame: Map<number, number | number[]>;
    join?: Map<number, number>;
    mix: Map<number, number>;
    assemble: number;
  };
}

/**
 * A scene's shot node ids: a one-shot scene keeps `video-N` / `end-frame-N` (as its steps keep
 * `scene-N:video`); shot i of a multi-shot scene is `video-N.i` / `end-frame-N.i`.
 */
export function shotIds(
  sceneNumber: number,
  shots: number,
  shot: number,
): { video: string; endFrame: string } {
  const at = shots === 1 ? `${sceneNumber}` : `${sceneNumber}.${shot}`;
  return { video: `video-${at}`, endFrame: `end-frame-${at}` };
}

/** The node after which a scene's clip is done: its join, or its only shot's end frame. */
export function sceneClipId(sceneNumber: number, shots: number): string {
  return shots === 1 ? shotIds(sceneNumber, 1, 1).endFrame : `join-${sceneNumber}`;
}

/**
 * produce: plan → bible → screenplay (LLM, one after another) → portraits (in parallel) → fan-out:
 * one chain per continuation chain (each scene: reference image if generated → its shots in order,
 * each a clip then its end frame → the shots joined if more than one, then the next scene, which
 * starts from the last frame of the scene before), voices per scene (lines in parallel), music; a
 * scene's mix after its clip (join, or its only shot's end frame) and its voices; assembly after
 * every mix and the music; cover after assembly.
 */
export function filmDag(input: FilmDagInput): DagNode[] {
  const L = input.latencies;
  const nodes: DagNode[] = [
    { id: "plan", ms: L.llm, after: [] },
    { id: "bible", ms: L.llm, after: ["plan"] },
    { id: "screenplay", ms: L.llm, after: ["bible"] },
    {
      id: "portraits",
      ms: input.portraits > 0 ? L.image : 0,
      sequentialMs: input.portraits * L.image,
      after: ["screenplay"],
    },
  ];
  const ends: string[] = [];
  const shotsOf = new Map(input.scenes.map((scene) => [scene.sceneNumber, Math.max(1, scene.shots ?? 1)]));
  for (const scene of input.scenes) {
    const n = scene.sceneNumber;
    const shots = shotsOf.get(n)!;
    const start = scene.continuesFrom === null
      ? "portraits"
      : sceneClipId(scene.continuesFrom, shotsOf.get(scene.continuesFrom) ?? 1);
    nodes.push({ id: `reference-${n}`, ms: scene.generatedReference ? L.image : 0, after: [start] });
    const measured = input.renderMs.endFrame.get(n);
    const frameMs = (i: number) =>
      Array.isArray(measured) ? measured[i - 1] ?? 0 : i === 1 ? measured ?? 0 : 0;
    let previous = `reference-${n}`;
    for (let i = 1; i <= shots; i++) {
      const ids = shotIds(n, shots, i);
      nodes.push({ id: ids.video, ms: L.video, after: [previous] });
      nodes.push({ id: ids.endFrame, ms: scene.clipMade ? frameMs(i) : 0, after: [ids.video] });
      previous = ids.endFrame;
    }
    if (shots > 1) {
      nodes.push({
        id: `join-${n}`,
        ms: scene.clipMade ? input.renderMs.join?.get(n) ?? 0 : 0,
        after: [previous],
      });
    }
    const clip = sceneClipId(n, shots);
    nodes.push({
      id: `voices-${n}`,
      ms: scene.lines > 0 ? L.voice : 0,
      sequentialMs: scene.lines * L.voice,
      after: ["portraits"],
    });
    if (scene.clipMade && scene.lines > 0) {
      nodes.push({
        id: `mix-${n}`,
        ms: input.renderMs.mix.get(n) ?? 0,
        after: [clip, `voices-${n}`],
      });
      ends.push(`mix-${n}`);
    } else {
      ends.push(clip, `voices-${n}`);
    }
  }
  if (input.music) {
    nodes.push({ id: "music", ms: L.music, after: ["portraits"] });
    ends.push("music");
  }
  nodes.push({ id: "assemble", ms: input.renderMs.assemble, after: ends });
  if (input.cover) nodes.push({ id: "cover", ms: L.image, after: ["assemble"] });
  return nodes;
}
