-- Coordination state for the Postgres implementation of src/coord (used when REDIS_URL is unset).
-- UNLOGGED: this state is short-lived and cheap to lose (a crash also ends every session that
-- held it), and the rate limiter runs on every Telegram send, so it should not cost WAL.
-- Every time below is the database's clock, so instances with skewed clocks agree.

-- Leases taken with tryAcquire (leader election uses advisory locks instead).
create unlogged table coord_leases (
  name text primary key,
  owner text not null,
  expires_at timestamptz not null
);

-- Fixed-window counters; expired windows are deleted opportunistically.
create unlogged table coord_counters (
  key text not null,
  window_start timestamptz not null,
  count bigint not null,
  expires_at timestamptz not null,
  primary key (key, window_start)
);
create index coord_counters_expires_at_idx on coord_counters (expires_at);

-- GCRA state: the theoretical arrival time per key. A row whose tat is past equals no row.
create unlogged table coord_rate (
  key text primary key,
  tat timestamptz not null
);
create index coord_rate_tat_idx on coord_rate (tat);

-- setOnce markers ("one refusal per stranger per hour").
create unlogged table coord_once (
  key text primary key,
  expires_at timestamptz not null
);
create index coord_once_expires_at_idx on coord_once (expires_at);

-- GCRA in one call: the row lock serialises instances, and the clock is read after the lock is
-- held so concurrent callers see time move forward in the order they are served. A refused call
-- changes nothing.
create function coord_rate_limit(p_key text, p_interval_us bigint, p_burst integer,
                                 out allowed boolean, out retry_after_ms bigint)
language plpgsql as $$
declare
  v_interval interval := p_interval_us * interval '1 microsecond';
  v_tat timestamptz;
  v_now timestamptz;
  v_new_tat timestamptz;
  v_allow_at timestamptz;
begin
  insert into coord_rate (key, tat) values (p_key, '-infinity') on conflict (key) do nothing;
  select tat into v_tat from coord_rate where key = p_key for update;
  v_now := clock_timestamp();
  v_new_tat := greatest(coalesce(v_tat, '-infinity'), v_now) + v_interval;
  v_allow_at := v_new_tat - v_interval * p_burst;
  if v_allow_at > v_now then
    allowed := false;
    retry_after_ms := ceil(extract(epoch from (v_allow_at - v_now)) * 1000)::bigint;
    return;
  end if;
  -- An upsert, because the opportunistic cleanup may have removed the row since the insert.
  insert into coord_rate (key, tat) values (p_key, v_new_tat)
    on conflict (key) do update set tat = excluded.tat;
  allowed := true;
  retry_after_ms := 0;
end $$;
