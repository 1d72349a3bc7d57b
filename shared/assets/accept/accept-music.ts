/** An accepted soundtrack: the film's metadata names it, and asset.apply reassembles the film with it. */
import { type AssetAcceptor, enqueueApply } from "./asset-acceptor.ts";

export const acceptMusic: AssetAcceptor = {
  kind: "music",
  needsIdleMovie: true,
  async accept(ctx) {
    await ctx.tx`update public.movies set metadata = metadata || ${
      ctx.tx.json({ music_url: ctx.asset.public_url })
    } where id = ${ctx.run.movie_id}`;
    return await enqueueApply(ctx, false);
  },
};
