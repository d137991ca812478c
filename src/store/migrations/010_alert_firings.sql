-- Count-only repeats (src/services/alerts/fast-repeat.ts): a repeat that changes nothing but an
-- incident's count and last_seen is written as exactly that, without reading the row into
-- pitwall and without an alert_events row. Two things make that possible:
--
-- content_hash: the hash of the last alert applied to the incident (severity, title, text,
-- source, url, labels). A repeat with the same hash changes none of those columns.
alter table alerts add column if not exists content_hash text;

-- alert_firings: how many alerts (firings: opening ones and repeats) each incident received per
-- 15-minute bin. The digest counts firings from here (per hour of any time zone: every zone's
-- offset is a multiple of 15 minutes), not from alert_events, which no longer get one row per
-- repeat. One upsert per incident per batch, HOT-updated in place.
create table if not exists alert_firings (
  alert_id text not null references alerts (id) on delete cascade,
  bin timestamptz not null,
  n integer not null check (n >= 1),
  primary key (alert_id, bin)
) with (fillfactor = 70);

create index if not exists alert_firings_bin_idx on alert_firings (bin);

-- Firings recorded before this migration, so a digest across the upgrade counts them.
insert into alert_firings (alert_id, bin, n)
select alert_id, date_bin('15 minutes', at, timestamptz '2000-01-01 00:00:00+00'), count(*)::int
  from alert_events
 where kind in ('opened', 'repeated')
 group by 1, 2
on conflict (alert_id, bin) do nothing;
