# Approvals: the cards in the approvals chat (team language), toasts, "Deny with reason", /approvals.

cmd-approvals = Pending approvals with their buttons, and "Always allow" grants

## The card

approval-title = Approval needed
approval-agent = Agent:
approval-default-level = (not in agents: default level { $level })
approval-run = run
approval-tool = Tool:
approval-sent-as = (sent as { $tool })
approval-reason = Reason:
approval-flags = Risk flags:
approval-flag-in-value = "{ $pattern }" in { $path }
approval-flag-in-key = "{ $pattern }" in a key at { $path }
approval-flags-more = and { $n } more
approval-arguments = Arguments:
approval-args-cut = … { $lines ->
        [one] { $lines } more line
       *[other] { $lines } more lines
    } ({ $chars } characters) not shown here: the full arguments are in { $file }, sent with this card.
approval-args-file = Full arguments: { $tool } for { $agent }
approval-policy = Policy:
approval-expires = Expires at { $at } (in { $in }); no decision means no.
approval-outcome-approved = Approved by { $name } at { $at }
approval-outcome-denied = Denied by { $name } at { $at }
approval-outcome-reason = Reason:
approval-outcome-always = Approved by { $name } at { $at }, and always allowed (this agent, tool and exact arguments) until { $until }
approval-outcome-expired = Expired at { $at }: nobody decided, so the agent was told no
approval-outcome-approved-policy = Approved by policy ({ $rule })
approval-outcome-denied-policy = Denied by policy ({ $rule })

approval-button-approve = Approve
approval-button-deny = Deny
approval-button-deny-reason = Deny with reason
approval-button-always = Always allow
approval-button-approve-all = Approve all { $n }
approval-button-review = Review one by one

approval-batch-title = { $n } requests
approval-batch-hidden = { $n ->
        [one] { $n } more request is
       *[other] { $n } more requests are
    } not shown here: "Approve all" approves only what this card shows; press "Review one by one" to see every request.
approval-batch-split = { $name } chose to review them one by one: each pending request now has a card of its own below.

approval-span-seconds = { $n } s
approval-span-minutes = { $n } min
approval-span-hours = { $n } h
approval-span-days = { $n } d

approval-status-approved = approved
approval-status-denied = denied
approval-status-expired = expired
approval-by-policy = policy
approval-by-expiry = expiry
approval-by-human = a person

## Toasts (the presser's language)

approval-toast-approved = Approved. The agent learns it now.
approval-toast-denied = Denied. The agent learns it now.
approval-toast-denied-reason = Denied with the reason: { $reason }
approval-toast-always = Approved. This agent may repeat this exact call without asking until { $until }.
approval-toast-already = Already { $status } by { $name } at { $at }; nothing changed.
approval-toast-expired = This request expired at { $at } and can no longer be decided (the agent was told no).
approval-toast-revoked = Grant revoked: { $tool } for { $agent } needs a human again.
approval-toast-grant-gone = That grant has already ended or been revoked.
approval-toast-why = Reply to my question in the chat with your reason, or pick a quick reason.
approval-toast-why-asked = I already asked you: reply to my question above, or pick a quick reason under it.
approval-toast-why-cancelled = Cancelled. The request is still waiting for a decision.
approval-toast-approved-all = Approved { $n }.
approval-toast-not-shown = { $n ->
        [one] { $n } newer request was not on this card and is still pending.
       *[other] { $n } newer requests were not on this card and are still pending.
    }
approval-toast-nothing-pending = Nothing left to decide on this card.
approval-toast-review = { $n ->
        [one] Sent { $n } request to review on its own card.
       *[other] Sent { $n } requests to review one by one.
    }

## Deny with reason

approval-why-question = why deny this call of { $agent }?
approval-why-how = Reply to this message with the reason (until { $at }), or pick a quick reason below.
approval-why-placeholder = Why deny it?
approval-quick-title = Quick reasons for { $name }:
approval-quick-risky = Too risky
approval-quick-wrong = Wrong target or arguments
approval-quick-later = Not now, ask again later
approval-quick-talk = Talk to a person first
approval-quick-cancel = Cancel, don't deny yet

## /approvals

approval-list-pending = Pending approvals: { $n }
approval-list-none = Nothing is waiting for a decision.
approval-list-run = run { $run }
approval-list-flagged = { $n ->
        [one] { $n } risk flag
       *[other] { $n } risk flags
    }
approval-list-expires = expires { $at } (in { $in })
approval-list-grants = "Always allow" grants: { $n }
approval-list-no-grants = None.
approval-list-grant-until = until { $until }, granted by { $name }
approval-list-revoke = Revoke { $n }
approval-list-page = Page { $page } of { $pages }
approval-list-on-page = On page { $page }.
approval-list-on-pages = On pages { $from }–{ $to }.
approval-list-prev = ‹ Page { $page }
approval-list-next = Page { $page } ›
approval-list-toast-last = That page is no longer there (the list got shorter): showing page { $page } of { $pages }.
