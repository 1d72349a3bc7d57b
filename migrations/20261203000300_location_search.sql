-- Locations found on the web (docs/film-pipeline.md, "Location images"): a `search` provider
-- type (an image search API such as Openverse) is tried before generation for locations marked
-- needs_web_search. A found image is someone else's work: its licence and attribution are kept
-- with it, so whoever publishes the film can credit it.
alter table public.api_providers drop constraint api_providers_provider_type_check;
alter table public.api_providers add constraint api_providers_provider_type_check
  check (provider_type in ('llm', 'video', 'image', 'audio', 'lipsync', 'music', 'render', 'search'));

alter table public.location_images
  -- 'generated' by the image provider, or 'web_search' (copied into our Storage from source_url).
  add column image_origin text not null default 'generated',
  -- Our Storage copy of the found image: the licence columns describe it, whichever image is current
  -- (an accepted regenerated image replaces image_url, and re-accepting the found one restores it).
  add column found_image_url text,
  -- The work's page (Openverse foreign_landing_url), else the file it was copied from.
  add column source_url text,
  add column license text,
  add column license_version text,
  add column license_url text,
  add column creator text,
  -- The credit line to publish with the image, as the search provider composed it.
  add column attribution text,
  -- Why a location that needed a web search was generated instead (search failed, no candidate passed).
  add column search_note text,
  add constraint location_images_origin_check check (image_origin in ('generated', 'web_search')),
  add constraint location_images_search_licensed
    check (image_origin <> 'web_search' or (license is not null and attribution is not null));
