/**
 * Pure rules of the screenplay → scenes step: how many scenes a duration asks for, each scene's
 * continuity (a scene without a plan continues the previous one) and location, and
 * the continuation chains that the DAG runs in parallel. How long each scene runs and its shots
 * are shot-plan.ts's.
 */
import type { ProductionPlan, Screenplay } from "../providers/film-schemas.ts";
import { sceneCountFor, slug } from "../providers/film-schemas.ts";

export { sceneCountFor };
export const MAX_SCENES = 60;

/**
 * How many of the screenplay's scenes a film keeps: the count asked for is only a hint to the
 * writer, but every scene needs at least one shot of the model's shortest length.
 */
export function maxScenesFor(targetSeconds: number, shortestShot: number): number {
  return Math.min(MAX_SCENES, Math.max(1, Math.floor(targetSeconds / shortestShot)));
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
 * The screenplay's scenes (at most the first `count` by number) with their continuity. A continuation must
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
