# Ops: /budgets, /breakers, /health, /mode and the admin commands /breaker_reset, /breaker_trip, /mode_set.

cmd-health = Health of pitwall and of every check
cmd-budgets = Token and cost budgets: use, limit, time to reset
cmd-breakers = Circuit breakers: state, failures, next probe
cmd-mode = The degradation mode and why
cmd-breaker-reset = Close a circuit breaker: /breaker_reset NAME
cmd-breaker-trip = Open a circuit breaker and hold it open: /breaker_trip NAME
cmd-mode-set = Pin a mode or go back to automatic: /mode_set MAINTENANCE reason, /mode_set AUTO

ops-time-now = now
ops-time-under-minute = less than a minute
ops-time-minutes = { $m } min
ops-time-hours = { $h } h
ops-time-hours-minutes = { $h } h { $m } min
ops-time-days = { $d } d
ops-time-days-hours = { $d } d { $h } h

ops-amount-tokens = { $amount } tokens
ops-amount-usd = ${ $amount }

ops-budgets-title = Budgets
ops-budgets-none = No budgets are configured (cost_management.budgets in pitwall.yaml).
ops-budget-global = all usage
ops-budget-exhausted = exhausted
ops-budget-usage = { $used } of { $limit }
ops-budget-resets = resets in { $time } ({ $at })

ops-breakers-title = Circuit breakers
ops-breakers-none = No circuit breakers yet. They appear when agents report calls (POST /v1/breakers/NAME/report) or when configured under circuit_breaker.breakers.
ops-breaker-closed = closed
ops-breaker-open = open
ops-breaker-half-open = half-open
ops-breaker-failures = { $count ->
    [one] { $count } failure in a row
   *[other] { $count } failures in a row
}
ops-breaker-next-probe = next probe in { $time } ({ $at })
ops-breaker-probe-now = a probe may go now
ops-breaker-probe-in-flight = a probe is in flight until { $at }
ops-breaker-held = held open by an admin until /breaker_reset
ops-breaker-usage = Send /{ $command } NAME, for example /{ $command } openai. /breakers lists them.
ops-breaker-bad-name = "{ $name }" is not a breaker name: 1-64 letters, digits, _ . and -, starting with a letter or digit.
ops-breaker-unknown = There is no breaker named { $name }. Known: { $names }.
ops-breaker-unknown-none = There is no breaker named { $name }, and none exists yet.
ops-breaker-reset-done = Breaker { $name } reset: closed (was { $previous }). Agents may call it again.
ops-breaker-reset-noop = Breaker { $name } was already closed; its failure count is cleared.
ops-breaker-trip-done = Breaker { $name } tripped: open and held (was { $previous }). Agents are refused until /breaker_reset { $name }.
ops-breaker-trip-noop = Breaker { $name } is already held open.

ops-health-title = Health
ops-health-database-ok = database: ok
ops-health-database-down = database: unreachable
ops-health-mode = mode { $mode }
ops-health-breakers-ok = circuit breakers: { $total } known, none open
ops-health-breakers-open = circuit breakers: { $open } of { $total } open ({ $names })
ops-health-no-checks = No health checks configured (checks: in pitwall.yaml).
ops-check-up = up
ops-check-failing = failing ({ $count } of { $threshold } in a row)
ops-check-down = down since { $since }
ops-check-unknown = not checked yet

ops-mode-current = Mode: { $mode }
ops-mode-since = Since { $at } ({ $ago } ago)
ops-mode-pinned = Pinned by { $by }: { $reason }. The measurements alone would give { $auto }.
ops-mode-why = Why
ops-mode-no-reasons = Every measurement is within its trigger.
ops-mode-hint = Admins: /mode_set MAINTENANCE reason pins maintenance; /mode_set AUTO goes back to automatic.
ops-mode-set-usage = Send /mode_set MODE [reason] with MODE one of FULL, DEGRADED, MINIMAL, MAINTENANCE; or /mode_set AUTO to unpin. MAINTENANCE needs a reason.
ops-mode-set-reason-required = Say why: /mode_set MAINTENANCE reason. The reason is shown to everyone and audited.
ops-mode-set-pinned = Mode pinned to { $mode } (was { $previous }). Send /mode_set AUTO to go back to automatic.
ops-mode-set-unpinned = Mode unpinned: automatic again, now { $mode }.
ops-mode-set-not-pinned = The mode is not pinned; it is automatic ({ $mode }).
