-- Per-operator choices made in Telegram (for now the /language choice). Keyed by the Telegram
-- user id rather than by config entries, so a choice survives edits of the operator list.
create table operator_prefs (
  user_id bigint primary key,
  -- null: no stored choice, negotiation falls back to the config and Telegram's language_code.
  language text check (language is null or language ~ '^[a-z]{2,3}$'),
  updated_at timestamptz not null default now()
);
