-- Approvals of tool calls (DESIGN.md, "HTTP API v1" approval rows; issue 5). Every time below
-- comes from the service's clock (`now()` injected), not the database's, so tests run on fake
-- time. Arguments, reasons and run ids are stored REDACTED: a secret an agent sends never reaches
-- the database. Only `args_hash` is derived from the arguments as sent (a grant must bind the
-- exact arguments, secrets included, or it would widen to other credentials).

-- Requests that share a run_id become one card in Telegram (approvals.group_wait).
create table approval_batches (
  id text primary key,
  agent text not null,
  run_id text not null,
  -- open: new requests of the run join it; split: "Review one by one" sent each on its own card
  status text not null check (status in ('open', 'split')),
  created_at timestamptz not null,
  -- the card's outbox message ref (approval-batch:<id>)
  card_ref text not null
);
create index approval_batches_run_idx on approval_batches (agent, run_id, created_at desc);

create table approvals (
  -- insertion order: the list's "newest first" and its cursor
  seq bigserial not null unique,
  -- 16 base62 characters, unguessable; fits callback data `ap:<op>:<id>`
  id text primary key,
  agent text not null,
  -- after tool_aliases, and as the agent sent it
  tool text not null,
  original_tool text not null,
  -- redacted arguments, as the prompt shows them
  args jsonb not null,
  -- sha256 of the canonical arguments as sent (normalize.ts): what an "Always allow" grant binds;
  -- null when policy refused before reading them (maintenance)
  args_hash text,
  -- risk flags found by the input checks
  flags jsonb not null default '[]'::jsonb,
  -- the agent's reason (redacted)
  request_reason text,
  run_id text,
  batch_id text references approval_batches (id),
  -- the permission level applied, and whether it came from `agents` or the default
  level text not null,
  level_source text not null check (level_source in ('agent', 'default')),
  -- policy's verdict: the rule and its reason (also for requests that went to a human)
  rule text not null,
  policy_reason text not null,
  -- expired is written by the expiry job; a pending row past expires_at already reads as expired
  status text not null check (status in ('pending', 'approved', 'denied', 'expired')),
  decided_by_kind text check (decided_by_kind in ('human', 'policy', 'expiry')),
  decided_by_id text,
  decided_by_name text,
  -- a human's reason for a denial ("Deny with reason")
  decision_reason text,
  -- the human chose "Always allow": the grant it created
  grant_id text,
  api_key text not null,
  idempotency_key text,
  trace_id text,
  -- the Telegram message that shows it: approval:<id>, or its batch's card
  card_ref text,
  -- its arguments did not fit a card and were sent in full as args-<id>.json
  args_document_sent boolean not null default false,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  decided_at timestamptz,
  check ((status = 'pending') = (decided_by_kind is null))
);
-- idempotency_key makes retries of one key return the same approval
create unique index approvals_idempotency_idx on approvals (api_key, idempotency_key)
  where idempotency_key is not null;
-- the expiry job and `?status=pending`
create index approvals_pending_idx on approvals (expires_at) where status = 'pending';
create index approvals_status_seq_idx on approvals (status, seq desc);
create index approvals_batch_idx on approvals (batch_id) where batch_id is not null;
create index approvals_decided_at_idx on approvals (decided_at) where status <> 'pending';

-- "Always allow": this agent, this tool, these exact normalized arguments, until expires_at.
create table approval_grants (
  id text primary key,
  agent text not null,
  tool text not null,
  args_hash text not null,
  -- redacted, for /approvals
  args jsonb not null,
  approval_id text not null references approvals (id),
  created_by_id text not null,
  created_by_name text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_by_id text,
  revoked_by_name text,
  -- the expiry job audited the grant's end
  expiry_noted_at timestamptz
);
create index approval_grants_match_idx on approval_grants (agent, tool, args_hash, expires_at)
  where revoked_at is null;
create index approval_grants_active_idx on approval_grants (expires_at)
  where revoked_at is null and expiry_noted_at is null;

-- "Deny with reason": the question asked of one approver (a ForceReply) and the quick-reason
-- picker under it. Their messages are named in telegram_messages so any instance can tidy them
-- up through the outbox when the approval is decided elsewhere or expires.
create table approval_reason_prompts (
  approval_id text not null references approvals (id),
  user_id bigint not null,
  chat_id text not null,
  prompt_ref text,
  picker_ref text,
  created_at timestamptz not null,
  closed_at timestamptz,
  primary key (approval_id, user_id)
);
create index approval_reason_prompts_open_idx on approval_reason_prompts (approval_id) where closed_at is null;

-- State of the @grammyjs/conversations v2 conversations (one row per chat and approver), so a
-- "Deny with reason" in progress survives restarts and moves with leadership.
create table approval_conversations (
  key text primary key,
  state jsonb not null,
  updated_at timestamptz not null default now()
);
