-- The provider registry (api_providers): which AI provider, model and API key each
-- provider type uses. A user's own rows (user_id = the user) win over the project-wide default
-- (user_id null, managed by the service role); with neither, the pipeline uses the offline
-- `local` providers, so nothing here is required for the demo.
--
-- API keys are sealed with AES-GCM by the Edge Function (key from the REELFORGE_ENCRYPTION_KEY
-- function secret) before they reach SQL; the database never sees a plain key. The sealed value
-- is still not readable by API roles: column privileges leave api_key_encrypted out.
create table public.api_providers (
  id uuid primary key default gen_random_uuid(),
  -- null = the project-wide default for this provider type.
  user_id uuid references auth.users (id) on delete cascade,
  provider_type text not null,
  provider text not null,
  model text not null,
  settings jsonb not null default '{}'::jsonb,
  is_active boolean not null default true,
  concurrency_limit integer not null default 2,
  -- JSON of shared/crypto/secret-box.ts's SealedSecret; null for keyless providers (local, worker).
  api_key_encrypted text,
  -- The key's last characters, so a UI can tell keys apart without ever reading one.
  key_hint text,
  -- Each row's own cap in engine.concurrency_limits: a user's key is capped on its own account,
  -- the project default on the project's.
  concurrency_key text generated always as ('provider:' || provider || ':' || id::text) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  rotated_at timestamptz,
  constraint api_providers_provider_type_check
    check (provider_type in ('llm', 'video', 'image', 'audio', 'lipsync', 'music', 'render')),
  constraint api_providers_provider_format check (provider ~ '^[a-z][a-z0-9_-]{0,39}$'),
  constraint api_providers_model_format check (char_length(model) between 1 and 120),
  constraint api_providers_settings_object check (jsonb_typeof(settings) = 'object'),
  -- Providers cap concurrency per account in the single digits; 100 is a typo guard.
  constraint api_providers_concurrency_limit_range check (concurrency_limit between 1 and 100),
  constraint api_providers_key_hint_with_key check ((api_key_encrypted is null) = (key_hint is null)),
  constraint api_providers_key_hint_short check (char_length(key_hint) <= 8),
  -- A user's own provider row caps only their own key, but every task under it runs on the
  -- project's workers: a user's cap is bounded lower than a project default's.
  constraint api_providers_user_concurrency_limit check (user_id is null or concurrency_limit <= 10)
);

comment on table public.api_providers is
  'AI providers per provider type: user rows override project defaults (user_id null); keys sealed by the providers function.';

comment on column public.api_providers.api_key_encrypted is
  'AES-GCM sealed API key; never granted to anon/authenticated, decrypted only in functions.';

-- One active choice per provider type: per user, and once for the project default.
create unique index api_providers_one_active_per_user on public.api_providers (user_id, provider_type)
  where is_active and user_id is not null;

create unique index api_providers_one_active_default on public.api_providers (provider_type)
  where is_active and user_id is null;

create index api_providers_user_idx on public.api_providers (user_id, created_at desc);

alter table public.api_providers enable row level security;

-- Users see their own rows and the project defaults (so a UI can show what applies), never the
-- key column (column privileges below). They may switch their own rows off or on, change
-- their own cap, or delete them; inserting and key changes go through the providers function,
-- which validates the config and seals the key.
create policy api_providers_select_own_or_default on public.api_providers
  for select to authenticated using (user_id = (select auth.uid()) or user_id is null);

create policy api_providers_update_own on public.api_providers
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

create policy api_providers_delete_own on public.api_providers
  for delete to authenticated using (user_id = (select auth.uid()));

-- Hosted projects grant every new public table to anon/authenticated by default: undo that,
-- then grant back only the columns without the key.
revoke all on public.api_providers from anon, authenticated;

grant select (id, user_id, provider_type, provider, model, settings, is_active, concurrency_limit,
              key_hint, concurrency_key, created_at, updated_at, rotated_at)
  on public.api_providers to authenticated;

grant update (is_active, concurrency_limit) on public.api_providers to authenticated;

grant delete on public.api_providers to authenticated;

grant all on public.api_providers to service_role;

-- `select *` for API clients: the same rows (security_invoker keeps RLS), without the key column.
create view public.api_providers_without_keys with (security_invoker = true) as
  select id, user_id, provider_type, provider, model, settings, is_active, concurrency_limit,
         key_hint, concurrency_key, created_at, updated_at, rotated_at
    from public.api_providers;

revoke all on public.api_providers_without_keys from anon, authenticated;

grant select on public.api_providers_without_keys to authenticated;

grant select on public.api_providers_without_keys to service_role;

create trigger api_providers_touch before update on public.api_providers
  for each row execute function engine.touch_updated_at();

-- Keeps engine.concurrency_limits in step with the registry: an active row caps its key, an
-- inactive or deleted one lifts the cap (its tasks drain; new ones use another row's key).
-- Security definer because owners update their rows as `authenticated`, which cannot touch engine.*.
create function engine.sync_provider_concurrency() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op in ('UPDATE', 'DELETE') and (tg_op = 'DELETE' or not new.is_active) then
    delete from engine.concurrency_limits where concurrency_key = old.concurrency_key;
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.is_active then
    insert into engine.concurrency_limits (concurrency_key, max_running)
    values (new.concurrency_key, new.concurrency_limit)
    on conflict (concurrency_key) do update set max_running = excluded.max_running;
  end if;
  return null;
end $$;

create trigger api_providers_sync_concurrency
  after insert or update of is_active, concurrency_limit or delete on public.api_providers
  for each row execute function engine.sync_provider_concurrency();

