-- The daily digest (issue 7). One row per local date in digest.timezone: it is inserted
-- (`on conflict do nothing returning`) in the same transaction that queues the digest's messages,
-- so the digest goes out exactly once per day across instances, restarts and a brief second
-- leader. Every time below comes from pitwall's clock, not the database's.
create table digests (
  digest_date date primary key,
  -- the scheduled run this digest stands for (the schedule's first time that day)
  scheduled_at timestamptz not null,
  -- the 24 hours it summarises: [window_start, window_end)
  window_start timestamptz not null,
  window_end timestamptz not null,
  -- sent after its scheduled time by the catch-up (pitwall was down, or was not the leader, then)
  late boolean not null default false,
  created_at timestamptz not null,
  -- the digest chat's outbox rows: the chart with its headline, and the full text (null without Telegram)
  photo_outbox_id bigint,
  text_outbox_id bigint,
  -- the copy by email (digest.email): none (not configured) | pending | sent | failed (gave up)
  email_status text not null default 'none' check (email_status in ('none', 'pending', 'sent', 'failed')),
  -- what to send, kept until it is sent: {to, subject, text, html}
  email_payload jsonb,
  email_attempts integer not null default 0,
  email_next_attempt_at timestamptz,
  -- an attempt in progress (another instance leaves it alone until this passes)
  email_claimed_until timestamptz,
  email_sent_at timestamptz,
  email_error text,
  -- the headline figures that were sent
  summary jsonb not null default '{}'::jsonb
);
create index digests_email_due_idx on digests (email_next_attempt_at) where email_status = 'pending';

-- The digest counts alert firings per hour of its window; alert_events has no index on time.
create index if not exists alert_events_at_idx on alert_events (at);
