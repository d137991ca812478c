# Alerts: messages in the alerts chat, buttons, toasts, /alerts, /silence, /silences.

cmd-alerts = Open alerts, newest first
cmd-silence = Silence alerts: /silence <key or matchers> <duration>
cmd-silences = Active silences

alert-severity-critical = critical
alert-severity-warning = warning
alert-severity-info = info
alert-repeated = ×{ $count } since { $since }
alert-seen = First seen { $first } · last seen { $last }
alert-acknowledged-by = Acknowledged by { $name } at { $at }
alert-silenced-until = Silenced until { $until }
alert-resolved-by = Resolved by { $name } at { $at }
alert-resolved-at = Resolved at { $at }
alert-link = Source
alert-key = Key:
alert-labels = Labels:
alert-button-ack = Acknowledge
alert-button-resolve = Resolve
alert-button-silence = Silence…
alert-escalation-header = Escalation { $step }: not acknowledged since { $since }
alert-escalation-subject = [pitwall] Escalation { $step }: { $severity } { $title }

group-summary = { $incidents } incidents · { $alerts } alerts · since { $since }, last { $last }
group-count-acknowledged = { $count } acknowledged
group-count-silenced = { $count } silenced
group-count-resolved = { $count } resolved
group-page = Page { $page } of { $pages }
group-more = +{ $count } more
group-action-acknowledged = { $name } acknowledged { $count } at { $at }
group-action-resolved = { $name } resolved { $count } at { $at }
group-action-silenced = { $name } silenced { $count } until { $until }
group-button-ack = Acknowledge all
group-button-resolve = Resolve all
group-button-back = ‹ Back
group-button-more = +{ $count } more ›

alerts-toast-acknowledged = Acknowledged. Reminders stopped.
alerts-toast-resolved = Resolved.
alerts-toast-silenced = Silenced until { $until }.
alerts-toast-group-acknowledged = Acknowledged { $count }. Reminders stopped.
alerts-toast-group-resolved = Resolved { $count }.
alerts-toast-group-silenced = Silenced the group until { $until } ({ $count } open now).
alerts-toast-already-acknowledged = Already acknowledged by { $name }.
alerts-toast-already-acknowledged-all = Everything here is already acknowledged.
alerts-toast-already-resolved = Already resolved.
alerts-toast-choose-duration = Silence for how long?
alerts-toast-page = Page { $page }.
alerts-toast-not-allowed = Acknowledging, resolving and silencing need the approver role; yours is { $role }.

alerts-list-header = Open alerts: { $total } ({ $firing } firing, { $acknowledged } acknowledged, { $silenced } silenced)
alerts-list-empty = No open alerts.
alerts-list-page = Page { $page } of { $pages }
alerts-list-since = since { $since }
alerts-button-newer = ‹ Newer
alerts-button-older = Older ›

silence-usage =
    Usage: /silence <key or matchers> <duration>
    Examples: /silence disk-full:db1 4h
    /silence alertname="HighLatency", env="prod" 30m
    End one early with /silence expire <id>; see them with /silences.
silence-bad-duration = "{ $given }" is not a duration; give one like 30m, 4h or 2d at the end.
silence-too-long = Silences last at most { $max }; give a shorter duration.
silence-bad-target = { $error }
silence-created = Silence { $id } for { $what } until { $until }. Quieted { $affected } open alerts now.
silence-expire-usage = Usage: /silence expire <id> (ids are in /silences).
silence-expired = Silence { $id } ended. { $affected } alerts fire again.
silence-unknown = There is no silence { $id }; see /silences.
silence-already-ended = Silence { $id } has already ended.
silences-header = Active silences: { $count }
silences-empty = No active silences.
silences-line = { $what } until { $until }, by { $by }
silences-footer = End one early with /silence expire <id>.
