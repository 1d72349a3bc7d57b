/**
 * An accepted script draft: the film is reset and its pipeline restarted from the new prompt
 * (asset_admin.reset_film), atomically with the accept. It re-produces the whole film, so it is
 * admitted as a film, and it takes the film in any state. Every script accept is a new take: its
 * version goes into the LLM cache key (movies.metadata.script_take), so even an unchanged prompt
 * is asked again (and paid for).
 */
import { initialSteps } from "../../film/film-progress.ts";
import { admitUsage } from "../../usage/usage-admission.ts";
import type { AssetAcceptor } from "./asset-acceptor.ts";

export const acceptScript: AssetAcceptor = {
  kind: "script",
  needsIdleMovie: false,
  async admit(tx, userId) {
    await admitUsage(tx, userId, "film", "regenerate:script");
  },
  async accept({ tx, run, runId, asset, userId }) {
    const [reset] = await tx`
      select asset_admin.reset_film(${run.movie_id}, ${userId}, ${asset.params.prompt ?? null}, ${
      tx.json(initialSteps())
    }, ${`asset-run:${runId}`}) as task_id`;
    // A new take of the script (asset-take.ts): the version keys the film's LLM questions, so the
    // content cache does not answer them with the old script (metadata was just reset).
    await tx`update public.movies set metadata = metadata || jsonb_build_object('script_take', ${asset.version}::int)
              where id = ${run.movie_id}`;
    return { produceTaskId: reset.task_id };
  },
};
