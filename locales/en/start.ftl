# /start, /help, /whoami.

cmd-start = Start: who you are to pitwall
cmd-help = The commands you can use
cmd-whoami = Your user id, role, language and this chat's id

start-greeting = Hello, { $name }! You are a pitwall operator with the { $role } role.
start-can-viewer = You can look at alerts, approvals, budgets, circuit breakers, health checks and the degradation mode.
start-can-approver = You can look at everything, approve or deny the tool calls agents ask about, and acknowledge or silence alerts.
start-can-admin = You can do everything: look at everything, decide approvals, handle alerts, reset or trip circuit breakers and set the degradation mode.
start-next = Send /help for the commands available to you.

help-header = Commands for your role ({ $role }):
help-footer = Buttons under alert and approval messages work too. Change the language with /language.

whoami-text =
    User id: { $userId }
    Name: { $name }
    Role: { $role }
    Language: { $language }
    Chat id: { $chatId }
whoami-thread = Topic (thread) id: { $threadId }
