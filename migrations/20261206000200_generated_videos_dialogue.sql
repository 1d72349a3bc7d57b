-- generated_videos.dialogue_text comes from the source product, whose clips were generated with
-- their speech in them. Here a clip is made without dialogue (scene-video.ts keeps it out of the
-- prompt): each line is voiced apart and mixed or lip-synced onto the scene's clip, so no cached
-- clip has words to record. Said where the column is, rather than left to look forgotten.
comment on column public.generated_videos.dialogue_text is
  'Always null: a cached clip carries no speech; lines are voiced apart (scene_audio) and mixed or lip-synced onto the scene clip.';
