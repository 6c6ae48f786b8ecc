"""What kind of thing a question asks for, when its words say so, and whether a fact states one.

"When was ketamine discovered?" is answered by the fact that gives a year ("… ketamine's discovery in
1962"), not by the one that says where it was discovered; "which country does the most psychedelic
research?" by the fact that names a country. The words of such a question ("when", "country") are
rarely in its answer, so neither the lexical score nor the embedding sees this: an expected answer
type, as in classic question answering, adds `ANSWER_TYPE_BONUS` to the facts that state one.

Only unambiguous forms count: "when" with a past tense ("when was", "when did": a date), "what year",
"how long ago"; "which country", "what countries". "When do they let you go home?" asks about a moment
in a session, not a date, and "where do I get it?" about a place of care, so neither has a type.
"""

from __future__ import annotations

import re
from enum import Enum

ANSWER_TYPE_BONUS = 0.5  # half a fully covered idea: decides between facts that match about equally


class AnswerType(Enum):
    YEAR = "year"
    COUNTRY = "country"


_ASKS_YEAR = re.compile(
    r"\bwhen (?:was|were|did|had|has|have)\b|\bsince when\b|\b(?:what|which) (?:year|decade)\b|\bhow long ago\b"
)
_ASKS_COUNTRY = re.compile(r"\b(?:what|which) (?:country|countries|nation|nations)\b")
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
    return None


def states(answer: AnswerType, text: str) -> bool:
    """Whether a fact's text states an answer of that kind (a year as a time, a country by name)."""
    pattern = _STATES_YEAR if answer is AnswerType.YEAR else _STATES_COUNTRY
    return pattern.search(text) is not None
