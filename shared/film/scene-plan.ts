/**
 * Pure rules of the screenplay → scenes step: how many scenes a duration asks for, each scene's
 * continuity (a scene without a plan continues the previous one) and location, and
 * the continuation chains that the DAG runs in parallel.
 */
import type { ProductionPlan, Screenplay } from "../providers/film-schemas.ts";
import { slug } from "../providers/film-schemas.ts";

export const MAX_SCENES = 60;

/** Two scenes a minute (clips are 2–10 s), at least 2, at most MAX_SCENES. */
export function sceneCountFor(durationMinutes: number): number {
  return Math.min(MAX_SCENES, Math.max(2, Math.ceil(durationMinutes * 2)));
}

export interface PlannedScene {
  sceneNumber: number;
  sceneId: string;
  locationName: string;
  locationSlug: string;
  timeOfDay: string;
  weather: string;
  isContinuation: boolean;
  continuesFrom: number | null;
  durationSeconds: number;
}

/**
 * The screenplay's scenes (first `count` by number) with their continuity. A continuation must
 * point at an earlier scene of this film; a plan that points elsewhere loses the continuation.
 */
export function planScenes(screenplay: Screenplay, plan: ProductionPlan, count: number): PlannedScene[] {
  const scenes = [...screenplay.scenes].sort((a, b) => a.scene_number - b.scene_number).slice(0, count);
  const numbers = new Set<number>();
  return scenes.map((scene, i) => {
    if (numbers.has(scene.scene_number)) {
      throw new Error(`screenplay repeats scene_number ${scene.scene_number}`);
    }
    numbers.add(scene.scene_number);
    const beat = plan.continuity.find((c) => c.scene_number === scene.scene_number);
    const previous = i > 0 ? scenes[i - 1].scene_number : null;
    let continuesFrom = beat ? (beat.is_continuation ? beat.continues_from ?? previous : null) : previous;
    if (continuesFrom !== null && (!numbers.has(continuesFrom) || continuesFrom >= scene.scene_number)) {
      continuesFrom = null;
    }
    const location = plan.locations.find((l) => l.location_id === beat?.location_id) ??
      plan.locations.find((l) => l.name.toLowerCase() === scene.header.location.toLowerCase());
    const locationName = location?.name ?? scene.header.location;
    return {
      sceneNumber: scene.scene_number,
      sceneId: scene.scene_id,
      locationName,
      locationSlug: slug(location?.location_id ?? locationName),
      timeOfDay: scene.header.time,
      weather: location?.weather ?? "clear",
      isContinuation: continuesFrom !== null,
      continuesFrom,
      durationSeconds: scene.duration.screen_time_seconds,
    };
  });
}

/**
 * Scenes linked by continuation, each chain in scene order; chains are independent of each other.
 * A scene joins the chain of the scene it continues (a branch stays in its trunk's chain, since
 * both need the same end frame first).
 */
export function continuityChains(scenes: Pick<PlannedScene, "sceneNumber" | "continuesFrom">[]): number[][] {
  const chainOf = new Map<number, number[]>();
  const chains: number[][] = [];
  for (const scene of [...scenes].sort((a, b) => a.sceneNumber - b.sceneNumber)) {
    const trunk = scene.continuesFrom === null ? undefined : chainOf.get(scene.continuesFrom);
    const chain = trunk ?? [];
    if (!trunk) chains.push(chain);
    chain.push(scene.sceneNumber);
    chainOf.set(scene.sceneNumber, chain);
  }
  return chains;
}
