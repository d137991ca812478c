-- POST /v1/usage is idempotent on request_id per API key: two agents whose ids are simple
-- counters ("1", "2", ...) must not swallow each other's usage, and one key must not be able to
-- suppress another's accounting by guessing its ids. Rows written without a key (pitwall's own)
-- share one scope.
drop index if exists usage_events_request_id_key;
create unique index if not exists usage_events_key_request_id_key
  on usage_events ((coalesce(api_key, '')), request_id) where request_id is not null;
