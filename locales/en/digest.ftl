# The daily digest (in the digest chat, by email) and /digest (in private).

cmd-digest = The digest of the last 24 hours, sent to you in private

digest-title = Daily digest · { $date }
digest-title-on-demand = Digest of the last 24 hours
digest-late = Late: scheduled for { $scheduled }, sent at { $sent } (pitwall was not running at the scheduled time).
digest-late-short = late
digest-window = { $from } – { $to } { $zone }

digest-incidents = Incidents
digest-incidents-line = fired { $fired } · resolved { $resolved } · still open { $open }
digest-severity-split = { $critical } critical, { $warning } warning, { $info } info
digest-firings = alerts received: { $count }
digest-ack = time to acknowledge: median { $median } ({ $count } acknowledged)
digest-ack-none = time to acknowledge: none acknowledged
digest-resolve = time to resolve: median { $median } ({ $count } resolved)
digest-resolve-none = time to resolve: none resolved
digest-noisiest = Noisiest keys:
digest-incidents-quiet = No alerts.

digest-approvals = Approvals
digest-approvals-line = approved { $approved } ({ $approvedByPolicy } by policy) · denied { $denied } ({ $deniedByPolicy } by policy) · expired { $expired }
digest-decision = decision time: median { $median } ({ $count } decided by a person)
digest-decision-none = decision time: none decided by a person
digest-approvals-none = No approval requests.

digest-usage = Tokens and cost
digest-usage-provider = { $provider }: { $tokens } tokens · { $cost } · { $requests } requests
digest-usage-saved = { $tokens } tokens saved by cache
digest-usage-total = total: { $tokens } tokens · { $cost } · { $requests } requests
digest-usage-none = No usage reported.
digest-usage-more = … and { $count } more providers
digest-budgets = Budgets:
digest-budget-line = { $name } · { $key }: { $pct } % ({ $used } of { $limit }, { $window })
digest-budget-global = all usage
digest-budget-daily = today
digest-budget-monthly = this month
digest-budget-exhausted = exhausted
digest-budgets-more = … and { $count } more
digest-tokens = { $amount } tokens
digest-usd = ${ $amount }

digest-breakers = Circuit breakers
digest-breakers-line = opened { $n ->
    [one] once
   *[other] { $count } times
}: { $names }
digest-breakers-none = no trips
digest-checks = Health checks
digest-checks-line = went down { $n ->
    [one] once
   *[other] { $count } times
}: { $names }
digest-checks-down = still down: { $names }
digest-checks-none = no failures
digest-mode = Mode
digest-mode-line = { $n ->
    [one] 1 change
   *[other] { $count } changes
}, now { $mode }
digest-mode-none = no changes, { $mode } all day
digest-mode-change = { $time } { $previous } → { $mode }

digest-caption-incidents = incidents: fired { $fired } · resolved { $resolved } · open { $open }
digest-caption-approvals = approvals: approved { $approved } · denied { $denied } · expired { $expired }
digest-caption-usage = usage: { $tokens } tokens · { $cost }
digest-caption-ops = breaker trips { $trips } · check failures { $checks } · mode changes { $modes }

digest-duration-seconds = { $s } s
digest-duration-minutes = { $m } min
digest-duration-minutes-seconds = { $m } min { $s } s
digest-duration-hours = { $h } h
digest-duration-hours-minutes = { $h } h { $m } min
digest-duration-days = { $d } d
digest-duration-days-hours = { $d } d { $h } h

digest-chart-alerts = Alerts per hour
digest-chart-tokens = Tokens spent per hour
digest-chart-total = total { $total }
digest-chart-empty = none
digest-chart-hour = hour ({ $zone })

digest-email-subject = pitwall digest { $date }
digest-email-subject-late = pitwall digest { $date } (late)
digest-email-subject-on-demand = pitwall digest of the last 24 hours

digest-sent-private = I sent you the digest in a private chat.
digest-private-blocked = I cannot write to you in private yet. Open a chat with @{ $bot }, press Start, then send /digest again.
