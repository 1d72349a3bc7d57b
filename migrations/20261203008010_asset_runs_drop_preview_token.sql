-- The preview token is gone (issue 13): previews live in the private media bucket and reach their
-- owner only as signed URLs from regenerate-asset's status, so a token in the URL guarded nothing.
alter table public.asset_runs drop column if exists preview_token;
