# Texts shared by every feature: roles, refusals, limits, errors, fallbacks.

role-viewer = viewer
role-approver = approver
role-admin = admin

language-name-en = English
language-name-ru = Russian

stranger-refusal =
    Sorry, this bot only serves the operators of this pitwall installation.
    If you should have access, ask a pitwall admin to add your Telegram user id { $userId } to telegram.operators in the configuration.
stranger-refusal-toast = Sorry, this bot only serves its configured operators.

role-required = This needs the { $required } role; yours is { $role }.

rate-limited =
    You have sent { $limit ->
        [one] { $limit } command
       *[other] { $limit } commands
    } within the hour, the most pitwall accepts from one person.
    Try again in { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Buttons under messages keep working meanwhile.

error-generic = Something went wrong while handling that. It has been logged; quote trace { $traceId } when you report it.

callback-stale = This button is no longer valid.
unknown-command = I don't know { $command }. Send /help to see the commands you can use.
text-hint = I work with commands. Send /help to see them.
