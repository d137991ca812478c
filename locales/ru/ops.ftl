# Ops: /budgets, /breakers, /health, /mode и команды админа /breaker_reset, /breaker_trip, /mode_set.

cmd-health = Состояние pitwall и всех проверок
cmd-budgets = Бюджеты токенов и денег: расход, лимит, время до сброса
cmd-breakers = Автоматы (circuit breakers): состояние, ошибки, следующая проба
cmd-mode = Режим деградации и его причины
cmd-breaker-reset = Закрыть автомат: /breaker_reset ИМЯ
cmd-breaker-trip = Разомкнуть автомат и держать открытым: /breaker_trip ИМЯ
cmd-mode-set = Закрепить режим или вернуть автоматический: /mode_set MAINTENANCE причина, /mode_set AUTO

ops-time-now = сейчас
ops-time-under-minute = меньше минуты
ops-time-minutes = { $m } мин
ops-time-hours = { $h } ч
ops-time-hours-minutes = { $h } ч { $m } мин
ops-time-days = { $d } д
ops-time-days-hours = { $d } д { $h } ч

ops-amount-tokens = { $amount } токенов
ops-amount-usd = ${ $amount }

ops-budgets-title = Бюджеты
ops-budgets-none = Бюджеты не настроены (cost_management.budgets в pitwall.yaml).
ops-budget-global = весь расход
ops-budget-exhausted = исчерпан
ops-budget-usage = { $used } из { $limit }
ops-budget-resets = сброс через { $time } ({ $at })

ops-breakers-title = Автоматы
ops-breakers-none = Автоматов пока нет. Они появляются, когда агенты сообщают о вызовах (POST /v1/breakers/ИМЯ/report), или из circuit_breaker.breakers в конфигурации.
ops-breaker-closed = закрыт
ops-breaker-open = открыт
ops-breaker-half-open = полуоткрыт
ops-breaker-failures = { $count ->
    [one] { $count } ошибка подряд
    [few] { $count } ошибки подряд
   *[other] { $count } ошибок подряд
}
ops-breaker-next-probe = следующая проба через { $time } ({ $at })
ops-breaker-probe-now = проба разрешена сейчас
ops-breaker-probe-in-flight = идёт проба, до { $at }
ops-breaker-held = удерживается админом открытым до /breaker_reset
ops-breaker-usage = Отправьте /{ $command } ИМЯ, например /{ $command } openai. Список — в /breakers.
ops-breaker-bad-name = «{ $name }» — не имя автомата: 1-64 символа из букв, цифр, _ . и -, первый — буква или цифра.
ops-breaker-unknown = Автомата { $name } нет. Известные: { $names }.
ops-breaker-unknown-none = Автомата { $name } нет, и ни одного пока не создано.
ops-breaker-reset-done = Автомат { $name } сброшен: закрыт (был { $previous }). Агенты снова могут его вызывать.
ops-breaker-reset-noop = Автомат { $name } уже был закрыт; счётчик ошибок обнулён.
ops-breaker-trip-done = Автомат { $name } разомкнут и удерживается (был { $previous }). Агентам отказано до /breaker_reset { $name }.
ops-breaker-trip-noop = Автомат { $name } уже удерживается открытым.

ops-health-title = Состояние
ops-health-database-ok = база данных: в порядке
ops-health-database-down = база данных: недоступна
ops-health-mode = режим { $mode }
ops-health-breakers-ok = автоматы: известно { $total }, открытых нет
ops-health-breakers-open = автоматы: открыто { $open } из { $total } ({ $names })
ops-health-no-checks = Проверки не настроены (checks: в pitwall.yaml).
ops-check-up = работает
ops-check-failing = сбоит ({ $count } из { $threshold } подряд)
ops-check-down = не работает с { $since }
ops-check-unknown = ещё не проверялась

ops-mode-current = Режим: { $mode }
ops-mode-since = С { $at } ({ $ago } назад)
ops-mode-pinned = Закреплён админом { $by }: { $reason }. По измерениям был бы { $auto }.
ops-mode-why = Почему
ops-mode-no-reasons = Все измерения в пределах порогов.
ops-mode-hint = Админы: /mode_set MAINTENANCE причина — закрепить обслуживание; /mode_set AUTO — вернуть автоматический режим.
ops-mode-set-usage = Отправьте /mode_set РЕЖИМ [причина], где РЕЖИМ — FULL, DEGRADED, MINIMAL или MAINTENANCE; /mode_set AUTO снимает закрепление. Для MAINTENANCE нужна причина.
ops-mode-set-reason-required = Укажите причину: /mode_set MAINTENANCE причина. Её увидят все, она попадёт в журнал аудита.
ops-mode-set-pinned = Режим закреплён: { $mode } (был { $previous }). /mode_set AUTO вернёт автоматический.
ops-mode-set-unpinned = Закрепление снято: режим снова автоматический, сейчас { $mode }.
ops-mode-set-not-pinned = Режим не закреплён, он автоматический ({ $mode }).
