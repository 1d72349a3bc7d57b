-- Lip sync (issue 5): when the owner configured a lipsync provider, film.mix sends the clip and a
-- track of the scene's dialogue to it and video_url moves to the synced file, whose sound is
-- that dialogue. Assembly must then not place the scene's lines again.

-- The synced file in our Storage. The scene counts as lip-synced only while video_url is this
-- file: a regenerated clip or a later plain mix moves video_url and so ends it, with no reset.
alter table public.movie_scenes add column lipsync_url text;
-- Why the last lip sync of this scene did not happen (the scene then keeps the plain mix).
alter table public.movie_scenes add column lipsync_error text;

comment on column public.movie_scenes.lipsync_url is
  'Lip-synced clip in Storage; the scene is lip-synced while video_url = lipsync_url (its sound is the dialogue).';
