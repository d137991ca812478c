-- Append-only record of every state change an operator or API key makes.
-- Only the retention job deletes from it, by age.
create table audit_log (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor_type text not null check (actor_type in ('operator', 'api_key', 'system', 'stranger')),
  actor_id text not null,
  actor_name text,
  action text not null,
  target text,
  trace_id text,
  details jsonb not null default '{}'::jsonb
);
create index audit_log_at_idx on audit_log (at);
create index audit_log_action_idx on audit_log (action, at);

-- Refuse UPDATE on audit rows at the database level: history cannot be rewritten.
create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only';
end $$;
create trigger audit_log_no_update before update on audit_log
  for each row execute function audit_log_append_only();

-- Small key/value settings that must survive restarts (pinned mode, chat migrations, ...).
create table settings (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);
