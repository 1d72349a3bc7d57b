-- public.is_backend_caller() let through anyone without JWT claims ("no claims = backend"), so a
-- session that lost or never set its claims counted as the service role. It now says yes only
-- when the caller is positively the backend: a service_role JWT, or a direct connection by a
-- privileged login role (functions and workers over SUPABASE_DB_URL) that has not switched to an
-- API role. Claims present but unreadable, a missing role, or any error: false.
create or replace function public.is_backend_caller() returns boolean
language plpgsql stable set search_path = '' as $$
declare
  v_claims text := nullif(current_setting('request.jwt.claims', true), '');
  -- SET ROLE as the session did it; unchanged inside security definer functions, unlike current_user.
  v_set_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
begin
  if v_set_role in ('anon', 'authenticated', 'authenticator') then
    return false;
  end if;
  if v_claims is not null then
    return coalesce((v_claims::jsonb ->> 'role') = 'service_role', false);
  end if;
  return session_user::text in ('postgres', 'supabase_admin');
exception when others then
  return false;
end $$;

revoke all on function public.is_backend_caller() from public, anon, authenticated;
grant execute on function public.is_backend_caller() to service_role;
