# /language.

cmd-language = Показать или сменить язык

language-current = Ваш язык: { $language }.
language-how-to = Чтобы сменить, отправьте /language en для английского или /language ru для русского.
language-set = Готово. Теперь я говорю с вами на языке: { $language }.
language-unknown = Я не знаю язык «{ $code }». Доступны: { $available }.
