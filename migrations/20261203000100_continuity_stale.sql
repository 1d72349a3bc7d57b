-- Continuity after a regenerated clip (docs/regenerate-asset.md, "New takes and continuity").
-- A scene that continues from another scene's last frame (continues_from, transitively) keeps a
-- clip made from the old frame when that scene gets a new clip: it is marked stale until it gets
-- a new accepted clip itself (a cascade regenerates it from the new frame).
alter table public.movie_scenes add column stale boolean not null default false;

-- A run a cascade started (the accepted run whose new end frame it continues from): it is
-- accepted by itself once its preview is made, with the same cascade.
alter table public.asset_runs add column cascade_of uuid references public.asset_runs (id) on delete set null;
