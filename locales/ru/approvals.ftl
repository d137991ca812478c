# Подтверждения: карточки в чате подтверждений (язык команды), уведомления, «Отказ с причиной», /approvals.

cmd-approvals = Ожидающие подтверждения с кнопками и разрешения «Разрешать всегда»

## Карточка

approval-title = Нужно подтверждение
approval-agent = Агент:
approval-default-level = (нет в agents: уровень по умолчанию { $level })
approval-run = запуск
approval-tool = Инструмент:
approval-sent-as = (вызван как { $tool })
approval-reason = Причина:
approval-flags = Признаки риска:
approval-flag-in-value = «{ $pattern }» в { $path }
approval-flag-in-key = «{ $pattern }» в ключе { $path }
approval-flags-more = и ещё { $n }
approval-arguments = Аргументы:
approval-args-cut = … ещё { $lines ->
        [one] { $lines } строка
        [few] { $lines } строки
       *[other] { $lines } строк
    } ({ $chars } символов) здесь не показаны: полные аргументы — в файле { $file }, отправленном с этой карточкой.
approval-args-file = Полные аргументы: { $tool } для { $agent }
approval-policy = Политика:
approval-expires = Истекает в { $at } (через { $in }); без решения — отказ.
approval-outcome-approved = Разрешил(а) { $name } в { $at }
approval-outcome-denied = Отказал(а) { $name } в { $at }
approval-outcome-reason = Причина:
approval-outcome-always = Разрешил(а) { $name } в { $at } и разрешил(а) всегда (этот агент, инструмент и точно эти аргументы) до { $until }
approval-outcome-expired = Истекло в { $at }: никто не решил, агенту отказано
approval-outcome-approved-policy = Разрешено политикой ({ $rule })
approval-outcome-denied-policy = Запрещено политикой ({ $rule })

approval-button-approve = Разрешить
approval-button-deny = Отказать
approval-button-deny-reason = Отказать с причиной
approval-button-always = Разрешать всегда
approval-button-approve-all = Разрешить все { $n }
approval-button-review = Разобрать по одному

approval-batch-title = Запросов: { $n }
approval-batch-hidden = Ещё { $n } не показаны здесь: «Разрешить все» разрешает только то, что видно на этой карточке; нажмите «Разобрать по одному», чтобы увидеть все запросы.
approval-batch-split = { $name } разбирает их по одному: у каждого ожидающего запроса теперь своя карточка ниже.

approval-span-seconds = { $n } с
approval-span-minutes = { $n } мин
approval-span-hours = { $n } ч
approval-span-days = { $n } дн

approval-status-approved = разрешено
approval-status-denied = отказано
approval-status-expired = истекло
approval-by-policy = политика
approval-by-expiry = истечение срока
approval-by-human = человек

## Уведомления (язык нажавшего)

approval-toast-approved = Разрешено. Агент узнает об этом сейчас.
approval-toast-denied = Отказано. Агент узнает об этом сейчас.
approval-toast-denied-reason = Отказано с причиной: { $reason }
approval-toast-always = Разрешено. Этот агент может повторять точно этот вызов без вопроса до { $until }.
approval-toast-already = Уже { $status } ({ $name }, { $at }); ничего не изменилось.
approval-toast-expired = Запрос истёк в { $at } и больше не может быть решён (агенту отказано).
approval-toast-revoked = Разрешение отозвано: { $tool } для { $agent } снова требует решения человека.
approval-toast-grant-gone = Это разрешение уже истекло или отозвано.
approval-toast-why = Ответьте на мой вопрос в чате, указав причину, или выберите быструю причину.
approval-toast-why-asked = Я уже спросил вас: ответьте на вопрос выше или выберите быструю причину под ним.
approval-toast-why-cancelled = Отменено. Запрос всё ещё ждёт решения.
approval-toast-approved-all = Разрешено: { $n }.
approval-toast-not-shown = Новых запросов не было на этой карточке, они ждут решения: { $n }.
approval-toast-nothing-pending = На этой карточке больше нечего решать.
approval-toast-review = Отправлено на разбор по одному: { $n }.

## Отказ с причиной

approval-why-question = почему отказать в этом вызове агента { $agent }?
approval-why-how = Ответьте на это сообщение, указав причину (до { $at }), или выберите быструю причину ниже.
approval-why-placeholder = Почему отказать?
approval-quick-title = Быстрые причины для { $name }:
approval-quick-risky = Слишком рискованно
approval-quick-wrong = Не та цель или аргументы
approval-quick-later = Не сейчас, спросите позже
approval-quick-talk = Сначала обсудите с человеком
approval-quick-cancel = Отмена, пока не отказывать

## /approvals

approval-list-pending = Ожидают решения: { $n }
approval-list-none = Ничего не ждёт решения.
approval-list-run = запуск { $run }
approval-list-flagged = признаков риска: { $n }
approval-list-expires = истекает в { $at } (через { $in })
approval-list-grants = Разрешения «Разрешать всегда»: { $n }
approval-list-no-grants = Нет.
approval-list-grant-until = до { $until }, выдал(а) { $name }
approval-list-revoke = Отозвать { $n }
approval-list-page = Страница { $page } из { $pages }
approval-list-on-page = На странице { $page }.
approval-list-on-pages = На страницах { $from }–{ $to }.
approval-list-prev = ‹ Стр. { $page }
approval-list-next = Стр. { $page } ›
approval-list-toast-last = Этой страницы больше нет (список стал короче): показана страница { $page } из { $pages }.
