-- Ops (issue 6): usage and budgets, circuit breakers, health checks, degradation mode.
-- Every time below comes from pitwall's clock (the services pass it in), not from now(), so
-- windows and cooldowns follow one clock across instances and tests can drive it.

-- One row per usage report (granularity per_request). request_id makes a report idempotent:
-- a retry with the same id is recognised and counted once. Kept for retention.usage_events.
create table usage_events (
  id bigserial primary key,
  request_id text,
  at timestamptz not null,
  provider text not null,
  model text,
  agent text,
  input_tokens bigint not null check (input_tokens >= 0),
  output_tokens bigint not null check (output_tokens >= 0),
  cached boolean not null default false,
  -- what counts against token budgets (0 for a cached answer) and what a cache hit saved
  tokens_spent bigint not null check (tokens_spent >= 0),
  tokens_saved bigint not null check (tokens_saved >= 0),
  cost_usd numeric(20, 9) not null check (cost_usd >= 0),
  -- reported by the agent, computed from cost_management.prices, or unpriced (cost 0)
  cost_source text not null check (cost_source in ('reported', 'prices', 'unpriced')),
  api_key text
);
create unique index usage_events_request_id_key on usage_events (request_id) where request_id is not null;
create index usage_events_at_idx on usage_events (at);

-- Hourly aggregates per provider, model and agent ('' when not named): what budgets read, kept
-- for retention.hourly_usage. Written in the same transaction as the usage_events row.
create table usage_hourly (
  hour timestamptz not null,
  provider text not null,
  model text not null default '',
  agent text not null default '',
  requests bigint not null default 0,
  cached_requests bigint not null default 0,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  tokens_spent bigint not null default 0,
  tokens_saved bigint not null default 0,
  cost_usd numeric(20, 9) not null default 0,
  primary key (hour, provider, model, agent)
);

-- Spent tokens per spike window (cost_management.spike.window, epoch-aligned), all agents together.
create table usage_spike_buckets (
  bucket_start timestamptz primary key,
  tokens bigint not null default 0
);

-- A threshold alert is raised by whoever inserts its row first: the primary key makes "once per
-- budget, key, window and threshold" hold across concurrent requests and instances.
create table budget_alerts (
  budget text not null,
  key text not null,
  window_key text not null,
  -- the threshold in basis points (80 % = 8000): exact, unlike a float
  threshold_bp integer not null check (threshold_bp > 0),
  alerted_at timestamptz not null,
  -- set when the window ended (or a newer window alerted) and the alert was resolved
  resolved_at timestamptz,
  primary key (budget, key, window_key, threshold_bp)
);
create index budget_alerts_open_idx on budget_alerts (budget, key) where resolved_at is null;

-- One spike alert per spike window.
create table spike_alerts (
  window_start timestamptz primary key,
  alerted_at timestamptz not null,
  detail text not null,
  resolved_at timestamptz
);

-- Circuit breakers: the guard's snapshot (src/guards/circuit-breaker.ts, toJSON), changed only
-- under `select ... for update` so concurrent reports from many instances make one history.
create table breakers (
  name text primary key,
  snapshot jsonb not null,
  updated_at timestamptz not null
);

-- Call reports fed to breakers: p99 latency and error rate per service for the degradation mode,
-- the host thresholds and latency-aware routing. Short-lived (pruned after a day).
create table breaker_reports (
  id bigserial primary key,
  name text not null,
  at timestamptz not null,
  outcome text not null check (outcome in ('success', 'failure', 'ignored')),
  latency_ms double precision check (latency_ms is null or latency_ms >= 0),
  status_code integer
);
create index breaker_reports_at_idx on breaker_reports (at);
create index breaker_reports_name_at_idx on breaker_reports (name, at);

-- Latest result and debounce state of each health check (src/guards/health-check.ts CheckState),
-- configured ones and the built-in host and service thresholds.
create table check_states (
  name text primary key,
  kind text not null,
  state jsonb not null,
  updated_at timestamptz not null
);

-- The degradation mode: one row holding the guard's state (src/guards/degradation.ts), the
-- reasons and measurements of the last evaluation.
create table mode_state (
  id smallint primary key default 1 check (id = 1),
  state jsonb not null,
  reasons jsonb not null default '[]'::jsonb,
  measurements jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null
);

-- Every change of the mode in effect: automatic ones and an admin's pins.
create table mode_history (
  id bigserial primary key,
  at timestamptz not null,
  mode text not null,
  previous text not null,
  reasons jsonb not null,
  -- 'auto', or the admin who pinned or unpinned
  changed_by text not null
);
create index mode_history_at_idx on mode_history (at);
