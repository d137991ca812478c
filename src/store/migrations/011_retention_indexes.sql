-- Retention (src/jobs/retention.ts) deletes message names no longer used by `updated_at`; without
-- an index each batch would scan the whole table.
create index if not exists telegram_messages_updated_at_idx on telegram_messages (updated_at);
