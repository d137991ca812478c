# Ежедневная сводка (в чате сводки, по почте) и /digest (в личном чате).

cmd-digest = Сводка за последние 24 часа, в личный чат

digest-title = Сводка за день · { $date }
digest-title-on-demand = Сводка за последние 24 часа
digest-late = С опозданием: по расписанию в { $scheduled }, отправлена в { $sent } (в назначенное время pitwall не работал).
digest-late-short = с опозданием
digest-window = { $from } – { $to } { $zone }

digest-incidents = Инциденты
digest-incidents-line = открыто { $fired } · закрыто { $resolved } · всё ещё открыто { $open }
digest-severity-split = критических { $critical }, предупреждений { $warning }, информационных { $info }
digest-firings = получено алертов: { $count }
digest-ack = время до подтверждения: медиана { $median } (подтверждено { $count })
digest-ack-none = время до подтверждения: ничего не подтверждено
digest-resolve = время до закрытия: медиана { $median } (закрыто { $count })
digest-resolve-none = время до закрытия: ничего не закрыто
digest-noisiest = Самые шумные ключи:
digest-incidents-quiet = Алертов не было.

digest-approvals = Подтверждения
digest-approvals-line = одобрено { $approved } (политикой { $approvedByPolicy }) · отклонено { $denied } (политикой { $deniedByPolicy }) · истекло { $expired }
digest-decision = время решения: медиана { $median } (решений людьми: { $count })
digest-decision-none = время решения: люди ничего не решали
digest-approvals-none = Запросов на подтверждение не было.

digest-usage = Токены и расходы
digest-usage-provider = { $provider }: токенов { $tokens } · { $cost } · запросов { $requests }
digest-usage-saved = кэш сэкономил токенов: { $tokens }
digest-usage-total = всего: токенов { $tokens } · { $cost } · запросов { $requests }
digest-usage-none = Расход не поступал.
digest-usage-more = … и ещё провайдеров: { $count }
digest-budgets = Бюджеты:
digest-budget-line = { $name } · { $key }: { $pct } % ({ $used } из { $limit }, { $window })
digest-budget-global = весь расход
digest-budget-daily = сегодня
digest-budget-monthly = в этом месяце
digest-budget-exhausted = исчерпан
digest-budgets-more = … и ещё { $count }
digest-tokens = { $amount } токенов
digest-usd = ${ $amount }

digest-breakers = Предохранители
digest-breakers-line = размыкались { $count } { $n ->
    [one] раз
    [few] раза
   *[other] раз
}: { $names }
digest-breakers-none = не размыкались
digest-checks = Проверки здоровья
digest-checks-line = падали { $count } { $n ->
    [one] раз
    [few] раза
   *[other] раз
}: { $names }
digest-checks-down = всё ещё не работают: { $names }
digest-checks-none = сбоев не было
digest-mode = Режим
digest-mode-line = смен: { $count }, сейчас { $mode }
digest-mode-none = без изменений, весь день { $mode }
digest-mode-change = { $time } { $previous } → { $mode }

digest-caption-incidents = инциденты: открыто { $fired } · закрыто { $resolved } · открыты { $open }
digest-caption-approvals = подтверждения: одобрено { $approved } · отклонено { $denied } · истекло { $expired }
digest-caption-usage = расход: токенов { $tokens } · { $cost }
digest-caption-ops = размыканий { $trips } · сбоев проверок { $checks } · смен режима { $modes }

digest-duration-seconds = { $s } с
digest-duration-minutes = { $m } мин
digest-duration-minutes-seconds = { $m } мин { $s } с
digest-duration-hours = { $h } ч
digest-duration-hours-minutes = { $h } ч { $m } мин
digest-duration-days = { $d } д
digest-duration-days-hours = { $d } д { $h } ч

digest-chart-alerts = Алерты по часам
digest-chart-tokens = Потраченные токены по часам
digest-chart-total = всего { $total }
digest-chart-empty = нет
digest-chart-hour = час ({ $zone })

digest-email-subject = Сводка pitwall { $date }
digest-email-subject-late = Сводка pitwall { $date } (с опозданием)
digest-email-subject-on-demand = Сводка pitwall за последние 24 часа

digest-sent-private = Отправил сводку вам в личный чат.
digest-private-blocked = Пока не могу написать вам в личный чат. Откройте чат с @{ $bot }, нажмите «Start» и снова отправьте /digest.
