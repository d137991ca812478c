-- Alerts (DESIGN.md, "HTTP API v1" alert rows; issue 4). One row is one incident: repeats while it
-- is open raise `count`; a firing after resolve opens a new row with a new id. Every time below
-- comes from the service's clock (`now()` injected), not the database's, so tests run on fake time.
create table alerts (
  -- insertion order: the list's "newest first" and its cursor
  seq bigserial not null unique,
  -- 16 base62 characters, unguessable; fits callback data `al:<op>:<id>`
  id text primary key,
  key text not null,
  severity text not null check (severity in ('info', 'warning', 'critical')),
  title text not null,
  text text,
  source text,
  labels jsonb not null default '{}'::jsonb,
  url text,
  status text not null check (status in ('firing', 'acknowledged', 'resolved', 'silenced')),
  count integer not null check (count >= 1),
  first_seen timestamptz not null,
  last_seen timestamptz not null,
  resolved_at timestamptz,
  -- {type: sender|operator|system, id, name}
  resolved_by jsonb,
  acknowledged_by jsonb,
  acknowledged_at timestamptz,
  silenced_until timestamptz,
  silence_id text,
  -- key of the open alert that inhibits this one when it opened (alerting.inhibition)
  inhibited_by text,
  -- grouping (alerting.grouping.group_by); null: not grouped, the incident has its own message
  group_id text,
  group_epoch integer,
  -- the incident's own message (ungrouped only): outbox ref of the latest send, and how many sends
  message_ref text,
  message_gen integer not null default 0,
  -- hash of the content last queued for its message: identical edits are not queued
  render_hash text,
  -- first and latest notification that showed it (its own message or its group's); the dedup
  -- window counts from last_notified_at, escalation_delay from first_notified_at
  first_notified_at timestamptz,
  last_notified_at timestamptz,
  -- escalation: when the leader's job next looks at it; null: nothing planned
  escalation_due_at timestamptz,
  last_escalated_at timestamptz,
  escalations integer not null default 0,
  pagerduty_triggered boolean not null default false
);
-- At most one open incident per key: concurrent posts of one key can never open two.
create unique index alerts_open_key_idx on alerts (key) where status <> 'resolved';
create index alerts_key_seq_idx on alerts (key, seq desc);
create index alerts_status_seq_idx on alerts (status, seq desc);
create index alerts_group_idx on alerts (group_id, group_epoch) where group_id is not null;
create index alerts_escalation_due_idx on alerts (escalation_due_at) where escalation_due_at is not null;
create index alerts_silenced_until_idx on alerts (silenced_until) where status = 'silenced';
create index alerts_resolved_at_idx on alerts (resolved_at) where status = 'resolved';

-- Every ingest, repeat and state change of an incident, with the trace that caused it. Alert
-- ingest is recorded here, not in the audit log (operators' actions go to both).
create table alert_events (
  id bigserial primary key,
  alert_id text not null references alerts (id) on delete cascade,
  at timestamptz not null,
  -- opened | repeated | resolved | acknowledged | silenced | unsilenced | escalated | notified | ...
  kind text not null,
  trace_id text,
  actor jsonb,
  details jsonb not null default '{}'::jsonb
);
create index alert_events_alert_idx on alert_events (alert_id, id);

-- A group's message and its timing (grouping guard's GroupState). A group lives in epochs: once
-- every incident it showed is resolved, the next firing starts a new epoch with a new message.
create table alert_groups (
  -- groupId(group_key): deterministic, fits callback data `ag:<op>:<id>`
  id text primary key,
  group_key text not null,
  -- the group_by labels and their values: a group silence matches these
  labels jsonb not null,
  epoch integer not null default 1,
  closed boolean not null default false,
  first_alert_at timestamptz not null,
  last_flush_at timestamptz,
  pending_since timestamptz,
  pending_loud boolean not null default false,
  -- nextFlushAt of the state above; the leader's job flushes groups due
  flush_due_at timestamptz,
  message_ref text,
  message_gen integer not null default 0,
  render_hash text,
  -- the page of incidents the message shows (`ag:more`)
  view_page integer not null default 0,
  -- the latest operator action on the whole group, shown under it: {op, by, at, count, until?}
  last_action jsonb
);
create index alert_groups_flush_due_idx on alert_groups (flush_due_at) where flush_due_at is not null;

-- Silences by incident key, by label matchers, or both; active from starts_at until ends_at.
create table silences (
  id text primary key,
  key text,
  matchers jsonb,
  starts_at timestamptz,
  ends_at timestamptz not null,
  created_at timestamptz not null,
  created_by jsonb not null,
  comment text,
  expired_by jsonb,
  check (key is not null or matchers is not null)
);
create index silences_ends_at_idx on silences (ends_at);

-- Escalation messages to email and PagerDuty, durable like the Telegram outbox: written in the
-- transaction of the state change, delivered (with retries) by the leader's job, in order per
-- incident and channel (a PagerDuty acknowledge never overtakes its trigger).
create table alert_notifications (
  id bigserial primary key,
  alert_id text not null references alerts (id) on delete cascade,
  channel text not null check (channel in ('email', 'pagerduty')),
  action text not null check (action in ('send', 'trigger', 'acknowledge', 'resolve')),
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null,
  created_at timestamptz not null,
  sent_at timestamptz,
  last_error text
);
create index alert_notifications_due_idx on alert_notifications (next_attempt_at) where status = 'pending';
create index alert_notifications_alert_idx on alert_notifications (alert_id, channel, id) where status = 'pending';
