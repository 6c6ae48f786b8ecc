"""What kind of thing a question asks for, when its words say so, and whether a fact states one.

"When was ketamine discovered?" is answered by the fact that gives a year ("… ketamine's discovery in
1962"), not by the one that says where it was discovered; "which country does the most psychedelic
research?" by the fact that names a country. The words of such a question ("when", "country") are
rarely in its answer, so neither the lexical score nor the embedding sees this: an expected answer
type, as in classic question answering, adds `ANSWER_TYPE_BONUS` to the facts that state one.

Only unambiguous forms count: "when" with a past tense ("when was", "when did": a date), "what year",
"how long ago"; "which country", "what countries"; "how much does … cost", "what's the price" (a sum of
money); "what remission rate", "what percentage of", "response rates in …" (a figure: a per cent, "12 of
20", "one in three", "half of"; "the majority of" is not one). The verdict uses the same reading: facts
that state no answer of the kind asked for do not answer the question ("What year did the FDA approve
it?" against "has received regulatory approval").
"When do they let you go home?" asks about a moment in a session, not a date, and "where do I get it?"
about a place of care, so neither has a type.
"""

from __future__ import annotations

import re
from enum import Enum

ANSWER_TYPE_BONUS = 0.5  # half a fully covered idea: decides between facts that match about equally


class AnswerType(Enum):
    """Each kind's value is how the verdict names it when no top fact states one."""

    YEAR = "the year"
    COUNTRY = "the country"
    PRICE = "the price"
    RATE = "the rate"


_ASKS_YEAR = re.compile(
    r"\bwhen (?:was|were|did|had|has|have)\b|\bsince when\b|\b(?:what|which) (?:year|decade)\b|\bhow long ago\b"
)
_ASKS_COUNTRY = re.compile(r"\b(?:what|which) (?:country|countries|nation|nations)\b")
# "How much does an infusion cost?", "what's the price of …": an amount of money.
_ASKS_PRICE = re.compile(
    r"\bhow much (?:does|do|did|will|would|is|are|can)\b[^?.!]*\b(?:cost|costs|charge|charged|pay|paid)\b"
    r"|\bwhat(?:'s| is| are)? (?:the )?(?:price|prices|going rate)\b"
)
# "What remission rate did …", "what proportion of patients …", "response and remission rates in the trial":
# a rate or share, as a question word asks for it or a query that begins with it (not "heart rate and
# blood pressure", which names a topic).
_ASKS_RATE = re.compile(
    r"\b(?:what|which)\b[^?.!]{0,40}\b(?:rate|rates|percentage|percent|proportion|fraction)\b"
    r"|\bhow many percent\b"
    r"|^(?:[a-z-]+ (?:and [a-z-]+ )?)?(?:rates?|percentages?|proportions?) (?:of|in|for|at|after|with|among)\b"
)
_NUMBER_WORD = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
_STATES_RATE = re.compile(
    r"\d\s?%|\bper ?cent\b|\b\d+ (?:of|out of) (?:the |all )?\d+\b"
    rf"|\b{_NUMBER_WORD} in {_NUMBER_WORD}\b"
    r"|\b(?:half|a third|a quarter|two[- ]thirds|three[- ]quarters) of\b"
    r"|\brates? of \d",
    re.IGNORECASE,
)
# A sum of money: a currency sign or a currency named after a number ("$400", "500 dollars").
_STATES_PRICE = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:dollars|usd|euros?|eur|gbp)\b", re.IGNORECASE)
# A year stated as a time ("in 1962", "since the 1990s", "by 2000"), not a citation's "(2012)".
_STATES_YEAR = re.compile(
    r"\b(?:in|since|from|by|until|before|after|around|between|during|circa)\s+"
    r"(?:the\s+)?(?:early\s+|late\s+|mid-?)?(?:1[6-9]\d\d|20\d\d)s?\b",
    re.IGNORECASE,
)
# Country names as facts write them (ISO 3166 short names in common use, and the usual short forms).
COUNTRIES = (
    "Afghanistan|Albania|Algeria|Argentina|Armenia|Australia|Austria|Azerbaijan|Bangladesh|Belarus|Belgium|"
    "Bolivia|Bosnia and Herzegovina|Brazil|Bulgaria|Cambodia|Cameroon|Canada|Chile|China|Colombia|Costa Rica|"
    "Croatia|Cuba|Cyprus|Czech Republic|Czechia|Denmark|Ecuador|Egypt|Estonia|Ethiopia|Finland|France|Georgia|"
    "Germany|Ghana|Greece|Guatemala|Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|"
    "Japan|Jordan|Kazakhstan|Kenya|Korea|South Korea|Latvia|Lebanon|Lithuania|Luxembourg|Malaysia|Mexico|"
    "Morocco|Nepal|Netherlands|New Zealand|Nigeria|Norway|Pakistan|Panama|Peru|Philippines|Poland|Portugal|"
    "Romania|Russia|Saudi Arabia|Serbia|Singapore|Slovakia|Slovenia|South Africa|Spain|Sri Lanka|Sweden|"
    "Switzerland|Taiwan|Tanzania|Thailand|Tunisia|Turkey|Uganda|Ukraine|United Arab Emirates|United Kingdom|"
    "United States|Uruguay|Venezuela|Vietnam|Zimbabwe|USA|U\\.S\\.|UK|England|Scotland|Wales"
)
_STATES_COUNTRY = re.compile(rf"\b(?:{COUNTRIES})(?![\w.])")


def expected_answer(question: str) -> AnswerType | None:
    """The kind of answer `question` (normalised, lower case) asks for, when its words say so."""
    if _ASKS_YEAR.search(question):
        return AnswerType.YEAR
    if _ASKS_COUNTRY.search(question):
        return AnswerType.COUNTRY
    if _ASKS_PRICE.search(question):
        return AnswerType.PRICE
    if _ASKS_RATE.search(question):
        return AnswerType.RATE
    return None


def states(answer: AnswerType, text: str) -> bool:
    """Whether a fact's text states an answer of that kind (a year as a time, a country by name, a sum, a
    rate)."""
    return _STATES[answer].search(text) is not None


_STATES = {
    AnswerType.YEAR: _STATES_YEAR,
    AnswerType.COUNTRY: _STATES_COUNTRY,
    AnswerType.PRICE: _STATES_PRICE,
    AnswerType.RATE: _STATES_RATE,
}
