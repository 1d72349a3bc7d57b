-- The internal dispatch secret (sent as x-reelforge-internal by pg_net and the sweeper to
-- /task-slice) is a credential for every task of every user. On hosted projects it lives only in
-- Vault. engine.settings.internal_secret is a plaintext fallback for the local stack, which has
-- no Vault and marks itself with the reelforge.local_stack database setting
-- (scripts/stack/bootstrap.sql); any other database without Vault refuses to store it.

comment on column engine.settings.internal_secret is
  'LOCAL STACK ONLY: plaintext fallback for the internal dispatch secret where there is no Vault. Always null on hosted projects (the secret is in vault.secrets as reelforge_internal_secret).';

create function engine.is_local_stack() returns boolean
language sql stable set search_path = '' as $$
  select coalesce(current_setting('reelforge.local_stack', true), '') = 'on'
$$;

create or replace function engine.configure_dispatch(
  p_functions_url text,
  p_api_key text,
  p_internal_secret text,
  p_sweep_every_ms integer default 5000
) returns void
language plpgsql security definer set search_path = '' as $$
begin
  if to_regclass('vault.secrets') is not null then
    execute 'delete from vault.secrets where name = $1' using 'reelforge_internal_secret';
    execute 'select vault.create_secret($1, $2)' using p_internal_secret, 'reelforge_internal_secret';
    update engine.settings set internal_secret = null;
  elsif engine.is_local_stack() then
    update engine.settings set internal_secret = p_internal_secret;
    raise notice 'local stack: the internal dispatch secret is kept in plaintext in engine.settings (no Vault here)';
  else
    raise exception 'no Vault in this database: the internal dispatch secret is stored only in Vault (the plaintext fallback is for the local stack)'
      using errcode = 'RFS01';
  end if;
  update engine.settings
     set functions_url = rtrim(p_functions_url, '/'),
         api_key = p_api_key,
         sweep_every_ms = p_sweep_every_ms;
end $$;

-- Where Vault exists the plaintext column is never read, even if something wrote it.
create or replace function engine.internal_secret() returns text
language plpgsql stable security definer set search_path = '' as $$
declare
  secret text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    execute 'select decrypted_secret from vault.decrypted_secrets where name = $1 limit 1'
      into secret using 'reelforge_internal_secret';
    return secret;
  end if;
  if engine.is_local_stack() then
    return (select internal_secret from engine.settings);
  end if;
  return null;
end $$;

-- A project configured before this migration with the secret in plaintext: move it into Vault.
do $$
declare
  plain text;
begin
  select internal_secret into plain from engine.settings;
  if plain is not null and to_regclass('vault.secrets') is not null then
    execute 'delete from vault.secrets where name = $1' using 'reelforge_internal_secret';
    execute 'select vault.create_secret($1, $2)' using plain, 'reelforge_internal_secret';
    update engine.settings set internal_secret = null;
  end if;
end $$;

revoke all on function engine.is_local_stack(), engine.configure_dispatch(text, text, text, integer), engine.internal_secret()
  from public, anon, authenticated;
