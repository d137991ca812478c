# Алерты: сообщения в чате алертов, кнопки, всплывающие ответы, /alerts, /silence, /silences.

cmd-alerts = Открытые алерты, сначала новые
cmd-silence = Заглушить алерты: /silence <ключ или матчеры> <длительность>
cmd-silences = Действующие заглушки

alert-severity-critical = критично
alert-severity-warning = предупреждение
alert-severity-info = информация
alert-repeated = ×{ $count } с { $since }
alert-seen = Впервые { $first } · последний раз { $last }
alert-acknowledged-by = Принял { $name } в { $at }
alert-silenced-until = Заглушён до { $until }
alert-resolved-by = Закрыл { $name } в { $at }
alert-resolved-at = Закрыт в { $at }
alert-link = Источник
alert-key = Ключ:
alert-labels = Метки:
alert-button-ack = Принять
alert-button-resolve = Закрыть
alert-button-silence = Заглушить…
alert-escalation-header = Эскалация { $step }: никто не принял с { $since }
alert-escalation-subject = [pitwall] Эскалация { $step }: { $severity } { $title }

group-summary = инцидентов: { $incidents } · алертов: { $alerts } · с { $since }, последний { $last }
group-count-acknowledged = принято: { $count }
group-count-silenced = заглушено: { $count }
group-count-resolved = закрыто: { $count }
group-page = Страница { $page } из { $pages }
group-more = ещё { $count }
group-action-acknowledged = { $name } принял(а) { $count } в { $at }
group-action-resolved = { $name } закрыл(а) { $count } в { $at }
group-action-silenced = { $name } заглушил(а) { $count } до { $until }
group-button-ack = Принять все
group-button-resolve = Закрыть все
group-button-back = ‹ Назад
group-button-more = Ещё { $count } ›

alerts-toast-acknowledged = Принято. Напоминания остановлены.
alerts-toast-resolved = Закрыто.
alerts-toast-silenced = Заглушено до { $until }.
alerts-toast-group-acknowledged = Принято: { $count }. Напоминания остановлены.
alerts-toast-group-resolved = Закрыто: { $count }.
alerts-toast-group-silenced = Группа заглушена до { $until } (открыто сейчас: { $count }).
alerts-toast-already-acknowledged = Уже принял(а) { $name }.
alerts-toast-already-acknowledged-all = Здесь всё уже принято.
alerts-toast-already-resolved = Уже закрыто.
alerts-toast-choose-duration = На сколько заглушить?
alerts-toast-page = Страница { $page }.
alerts-toast-not-allowed = Принимать, закрывать и глушить алерты может роль approver; у вас { $role }.

alerts-list-header = Открытых алертов: { $total } (горят: { $firing }, приняты: { $acknowledged }, заглушены: { $silenced })
alerts-list-empty = Открытых алертов нет.
alerts-list-page = Страница { $page } из { $pages }
alerts-list-since = с { $since }
alerts-button-newer = ‹ Новее
alerts-button-older = Старше ›

silence-usage =
    Как пользоваться: /silence <ключ или матчеры> <длительность>
    Примеры: /silence disk-full:db1 4h
    /silence alertname="HighLatency", env="prod" 30m
    Снять раньше срока: /silence expire <id>; список: /silences.
silence-bad-duration = «{ $given }» — не длительность; укажите в конце, например, 30m, 4h или 2d.
silence-too-long = Заглушка длится не дольше { $max }; укажите меньший срок.
silence-bad-target = { $error }
silence-created = Заглушка { $id } для { $what } до { $until }. Сейчас заглушено открытых алертов: { $affected }.
silence-expire-usage = Как пользоваться: /silence expire <id> (id есть в /silences).
silence-expired = Заглушка { $id } снята. Снова горят: { $affected }.
silence-unknown = Заглушки { $id } нет; см. /silences.
silence-already-ended = Заглушка { $id } уже закончилась.
silences-header = Действующих заглушек: { $count }
silences-empty = Действующих заглушек нет.
silences-line = { $what } до { $until }, поставил(а) { $by }
silences-footer = Снять раньше срока: /silence expire <id>.
