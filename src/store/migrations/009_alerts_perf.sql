-- Alert ingest rewrites an open incident's row on every repeat (count, last_seen). With free
-- space left on each page, Postgres can keep the new version on the same page and, when no
-- indexed column changed (the usual repeat), skip every index update (a HOT update); the old
-- versions are pruned page by page. Applies to pages written from now on.
alter table alerts set (fillfactor = 70);
alter table alert_groups set (fillfactor = 50);
