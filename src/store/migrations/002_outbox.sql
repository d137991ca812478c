-- Delivery outbox (DESIGN.md, "Delivery"): every Telegram send and edit is a row here, written
-- in the same transaction as the state change it reports, and delivered by the outbox worker.
-- No undelivered row is ever deleted; delivered ones leave through the retention job.
create table outbox (
  id bigserial primary key,
  -- what the message is about (alert, alert_edit, approval_prompt, digest, ...): logs and metrics
  kind text not null,
  -- 0 approval prompts and decision edits, 1 new alerts, 2 alert edits, 3 digest (lower first)
  priority smallint not null check (priority between 0 and 9),
  chat_id text not null,
  -- forum topic (message_thread_id) of a send
  thread_id integer,
  method text not null check (method in (
    'sendMessage', 'editMessageText', 'editMessageReplyMarkup', 'sendPhoto', 'sendDocument', 'deleteMessage'
  )),
  -- rendered at enqueue time: {html, plain, reply_markup, silent, link_preview, file: {base64, filename}}
  payload jsonb not null,
  -- a send: the name its message gets in telegram_messages once delivered ("alert:<id>")
  message_ref text,
  -- an edit or delete: the message it acts on, by name; it waits until that message is sent
  target_ref text,
  -- edits of one message share it; the newest pending row carries the content, older ones are superseded
  coalesce_key text,
  status text not null default 'pending' check (status in ('pending', 'sent', 'superseded')),
  -- how a row ended: sent | plain (after a parse error) | not_modified | target_missing | folded
  outcome text,
  -- set after Telegram refused the HTML: the next attempts send the plain text with no parse mode
  as_plain boolean not null default false,
  -- failed attempts that count toward the retry policy (429 and pacing waits do not count)
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  -- since when the content this row carries has waited (the oldest of the edits coalesced into it)
  pending_since timestamptz not null default now(),
  -- a lease: a worker that dies mid-send leaves the row claimed; anyone retries it after claimed_until
  claimed_by text,
  claimed_until timestamptz,
  sent_at timestamptz,
  telegram_message_id bigint,
  superseded_by bigint,
  last_error text,
  -- the 2-minute delivery alert was raised for this row
  stuck_alerted_at timestamptz,
  -- the "undelivered for 24 h" error was logged for this row
  overdue_logged_at timestamptz
);

-- The claim: pending rows in priority order.
create index outbox_claim_idx on outbox (priority, next_attempt_at, id) where status = 'pending';
-- One row in flight per chat, and the chat's head row.
create index outbox_pending_chat_idx on outbox (chat_id, priority, next_attempt_at, id) where status = 'pending';
-- An edit waits for its target's send; edits of one message coalesce.
create index outbox_pending_ref_idx on outbox (message_ref) where status = 'pending' and message_ref is not null;
create index outbox_pending_target_idx on outbox (target_ref) where status = 'pending' and target_ref is not null;
-- Retention of delivered rows.
create index outbox_done_idx on outbox (created_at) where status <> 'pending';

-- Messages pitwall sent, by name, so later edits find them (latest send of a name wins).
create table telegram_messages (
  ref text primary key,
  chat_id text not null,
  thread_id integer,
  message_id bigint not null,
  updated_at timestamptz not null default now()
);

-- A group upgraded to a supergroup gets a new id (Bot API migrate_to_chat_id); kept forever so
-- configured ids and queued rows keep reaching it.
create table chat_migrations (
  from_chat_id text primary key,
  to_chat_id text not null,
  migrated_at timestamptz not null default now()
);

-- Per-chat delivery state shared by every instance: no row of the chat is sent before
-- blocked_until (pacing, 429 retry_after, bot removed). `problem` marks a chat pitwall cannot
-- deliver to (403, chat not found) until a delivery to it succeeds again.
create table delivery_chats (
  chat_id text primary key,
  blocked_until timestamptz not null,
  reason text not null,
  problem text,
  problem_since timestamptz,
  updated_at timestamptz not null default now()
);
