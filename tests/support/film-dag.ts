/**
 * The film's DAG as the pipeline runs it, with a weight per node, and the two yardsticks a film's
 * wall time is held against: the critical path (longest chain of dependent work — the best any
 * scheduler can do with unlimited parallelism) and the one-by-one order (every piece of
 * work one after another: preproduction, each scene's image → clip → end frame, then every voice
 * line, music, assembly, cover). Pure and runtime-neutral (vitest and the Deno benchmark).
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
}

export interface FilmDagInput {
  latencies: FilmLatencies;
  scenes: FilmDagScene[];
  portraits: number;
  music: boolean;
  cover: boolean;
  /**
   * Measured render run times, ms; missing ones weigh 0. `mix` is a scene's finishing step: the
   * mix render, or with lip sync its dialogue-track render plus the lip sync job's latency.
   */
  renderMs: { endFrame: Map<number, number>; mix: Map<number, number>; assemble: number };
}

/**
 * produce: plan → bible → screenplay (LLM, one after another) → portraits (in parallel) → fan-out:
 * one chain per continuation chain (each scene: reference image if generated → clip → end frame,
 * then the next scene), voices per scene (lines in parallel), music; a scene's mix after its end
 * frame and its voices; assembly after every mix and the music; cover after assembly.
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
  for (const scene of input.scenes) {
    const n = scene.sceneNumber;
    const start = scene.continuesFrom === null ? "portraits" : `end-frame-${scene.continuesFrom}`;
    nodes.push({ id: `reference-${n}`, ms: scene.generatedReference ? L.image : 0, after: [start] });
    nodes.push({ id: `video-${n}`, ms: L.video, after: [`reference-${n}`] });
    nodes.push({
      id: `end-frame-${n}`,
      ms: scene.clipMade ? input.renderMs.endFrame.get(n) ?? 0 : 0,
      after: [`video-${n}`],
    });
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
        after: [`end-frame-${n}`, `voices-${n}`],
      });
      ends.push(`mix-${n}`);
    } else {
      ends.push(`end-frame-${n}`, `voices-${n}`);
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
