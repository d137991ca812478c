# /language.

cmd-language = Show or change your language

language-current = Your language: { $language }.
language-how-to = To switch, send /language en for English or /language ru for Russian.
language-set = Done. I will talk to you in { $language } from now on.
language-unknown = I don't know the language "{ $code }". Available: { $available }.
