/** An accepted cover: the film's poster and thumbnail; nothing is re-rendered. */
import type { AssetAcceptor } from "./asset-acceptor.ts";

export const acceptCover: AssetAcceptor = {
  kind: "cover",
  needsIdleMovie: true,
  async accept({ tx, run, asset }) {
    await tx`update public.movies set poster_url = ${asset.public_url}, thumbnail_url = ${asset.public_url} where id = ${run.movie_id}`;
    return {};
  },
};
