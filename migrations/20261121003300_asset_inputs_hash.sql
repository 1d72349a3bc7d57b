-- Identical regenerate inputs cost nothing (issue 6): every preview version records the hash of
-- what it was made from (kind, prompt/text, provider, model, size, seed, voice settings ...), so
-- the next run with the same inputs copies an existing file instead of calling the provider.
-- Video and audio previews use the generated_videos / audio_cache key here too, so one hash finds
-- a clip or a line in either place. Versions the pipeline registered through the URL triggers have
-- none (their inputs live in the cache tables).
alter table public.assets add column inputs_hash text;

create index assets_inputs_idx on public.assets (user_id, kind, inputs_hash) where inputs_hash is not null;

comment on column public.assets.inputs_hash is
  'sha256 of the inputs a regenerate preview was made from; a later run with the same hash copies this file (if not deleted) instead of calling the provider.';
