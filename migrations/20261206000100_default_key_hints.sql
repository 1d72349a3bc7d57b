-- A project default's key is the operator's: users see that a default applies to them, not which
-- key it is. Before, every user read the last characters of each project key (key_hint on the
-- default rows), from the table and from api_providers_without_keys; the providers function's
-- list answered them too (shared/providers/registry/provider-store.ts, now masked there).
revoke select (key_hint) on public.api_providers from authenticated;

-- The hint of a row the caller owns; null for any other row, a project default among them. The
-- view below calls it, so a user's own hints stay readable where they were. The service role
-- reads every hint from the table, which it is granted whole.
create function public.own_key_hint(p_provider_id uuid) returns text
language sql stable security definer set search_path = '' as $$
  select p.key_hint from public.api_providers p
   where p.id = p_provider_id and p.user_id = (select auth.uid())
$$;

grant execute on function public.own_key_hint(uuid) to authenticated;

create or replace view public.api_providers_without_keys with (security_invoker = true) as
  select id, user_id, provider_type, provider, model, settings, is_active, concurrency_limit,
         public.own_key_hint(id) as key_hint, concurrency_key, created_at, updated_at, rotated_at
    from public.api_providers;
