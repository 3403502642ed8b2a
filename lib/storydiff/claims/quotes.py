"""Direct quotes and who said them, resolved with the context of the whole article.

Quoted words are found with curly or straight, double or single quotation marks; an apostrophe
inside a word ("China’s") is not a mark. A double quote opened in one sentence and closed in a
later one (at most ``MAX_QUOTE_SENTENCES`` on) covers the sentences between. The speaker of a
sentence is the subject of its verb of saying ("said", "added", "told", "was quoted ... as
saying") or the source of "according to"; pronouns ("he said") and role nouns ("the Chinese
leader said") resolve to the person the article last named as a subject, short names ("Xi",
"Jinping") to the fullest form the article uses ("Xi Jinping"). Reported speech without quote
marks ("Xi said China had made progress") also gets a speaker. A sentence that is all quote and
names no speaker keeps the speaker of the quote it continues.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span, Token

MAX_QUOTE_SENTENCES = 4
SPEECH_VERBS = {
    "say", "tell", "add", "state", "note", "announce", "call", "urge", "vow", "stress", "warn",
    "claim", "argue", "insist", "explain", "describe", "label", "quote", "report", "mention",
    "speak", "ask", "reply", "write", "comment", "pledge", "promise", "emphasize", "emphasise",
    "declare", "acknowledge", "admit", "predict", "suggest", "cite", "encourage",
}
# verbs that report speech only with a clause ("added that ...", "promised to ...") or a quote:
# "Daiwa added 5.3%" and "technology promised much" report no one's words
NEEDS_CLAUSE = {"add", "note", "write", "cite", "promise", "pledge"}
ROLE_NOUNS = {
    "leader", "president", "premier", "minister", "spokesman", "spokeswoman", "spokesperson",
    "chairman", "chairwoman", "official", "secretary", "chancellor", "governor", "mayor",
    "ambassador", "prime", "chief", "director", "head", "founder", "executive",
}
DOCUMENT_NOUNS = {"budget", "report", "figure", "data", "document", "plan", "bill", "law", "study",
                  "survey", "statement", "comment", "remark", "speech", "it", "this", "that"}
PERSON_PRONOUNS = {"he", "she", "him", "her"}
OPEN_DOUBLE, CLOSE_DOUBLE, OPEN_SINGLE, CLOSE_SINGLE = "“", "”", "‘", "’"
Spans = list[tuple[int, int]]


def _opens(text: str, i: int) -> bool:
    """Whether the straight quote at ``i`` opens (start, space or bracket before it)."""
    return i == 0 or text[i - 1] in " \t\n([{—–-“‘"


def find_quote_marks(text: str) -> list[tuple[int, str, bool]]:
    """Quotation marks of ``text`` as (offset, kind "double"/"single", opens)."""
    marks: list[tuple[int, str, bool]] = []
    for i, ch in enumerate(text):
        if ch in (OPEN_DOUBLE, CLOSE_DOUBLE):
            marks.append((i, "double", ch == OPEN_DOUBLE))
        elif ch == '"':
            marks.append((i, "double", _opens(text, i)))
        elif ch in (OPEN_SINGLE, CLOSE_SINGLE, "'"):
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            if before.isalnum() and after.isalnum():
                continue  # an apostrophe: China’s, don't
            if ch == OPEN_SINGLE or ch == "'" and _opens(text, i) and after.isalnum():
                marks.append((i, "single", True))
            elif not before.isspace():
                marks.append((i, "single", False))
    return marks


def find_article_quotes(texts: list[str]) -> list[tuple[Spans, bool]]:
    """(quoted spans, continues) for each sentence of one article, in order: spans are (start,
    end) offsets of the quoted words, marks excluded; ``continues`` says the sentence's last
    quote runs on into the next sentence, which happens to a double quote left open when one
    of the next ``MAX_QUOTE_SENTENCES`` sentences closes it before opening another."""
    result: list[tuple[Spans, bool]] = []
    carried = False
    for k, text in enumerate(texts):
        spans: Spans = []
        open_at: int | None = 0 if carried else None
        open_kind = "double" if carried else ""
        for i, kind, opens in find_quote_marks(text):
            if open_at is None and opens:
                open_at, open_kind = i + 1, kind
            elif open_at is not None and kind == open_kind and not opens:
                spans.append((open_at, i))
                open_at = None
            elif open_at is not None and kind == open_kind == "double" and opens:
                open_at = i + 1  # an unclosed quote: restart at the new opening
        carried = False
        if open_at is not None:
            spans.append((open_at, len(text)))
            carried = open_kind == "double" and _closes_later(texts[k + 1:k + 1 + MAX_QUOTE_SENTENCES])
        result.append(([(s, e) for s, e in spans if text[s:e].strip()], carried))
    return result


def _closes_later(texts: list[str]) -> bool:
    """Whether a closing double mark comes before any opening one in the following ``texts``."""
    for text in texts:
        for _, kind, opens in find_quote_marks(text):
            if kind == "double":
                return not opens
    return False


def quote_text(text: str, spans: Spans) -> str:
    """The quoted words of a sentence: its spans joined by " ... ", trailing commas dropped."""
    return " ... ".join(text[s:e].strip().rstrip(",;:").strip() for s, e in spans)


def is_name(quoted: str) -> bool:
    """Quoted words that are a name, not a quote: short and in title case ("‘Two Sessions’")."""
    words = [w for w in quoted.split() if w[:1].isalpha()]
    return 0 < len(words) <= 4 and all(w[0].isupper() or w in ("and", "of", "the", "for") for w in words) and any(w[0].isupper() for w in words)


def canonical_name(name: str, people: list[str], recent: str = "") -> str:
    """The fuller name in ``people`` (in order of first mention) that contains every word of
    ``name`` ("Xi" -> "Xi Jinping"): ``recent`` when it is one, else the first mentioned; or
    ``name`` itself when none is fuller."""
    words = name.split()
    fuller = [p for p in people if set(words) <= set(p.split()) and len(p.split()) > len(words)]
    if not fuller:
        return name
    return recent if recent in fuller else fuller[0]


def _strip_name(text: str) -> str:
    for suffix in ("’s", "'s"):
        text = text.removesuffix(suffix)
    for prefix in ("Dr. ", "Dr ", "Mr ", "Mr. ", "Ms ", "Ms. ", "Mrs ", "Mrs. ", "Prof. "):
        text = text.removeprefix(prefix)
    return text.strip()


def article_people(docs: list[Doc | Span]) -> list[str]:
    """Names of the PERSON entities of an article, titles and possessives removed."""
    return list(dict.fromkeys(_strip_name(e.text) for d in docs for e in d.ents if e.label_ == "PERSON"))


def _reports_speech(verb: Token, has_quote: bool) -> bool:
    """Whether a verb of saying reports someone's words here: not passive ("was written by",
    "the court was told"; "was quoted as saying" is), and with a clause or a quote for
    ``NEEDS_CLAUSE`` verbs."""
    deps = {c.dep_ for c in verb.children}
    if "nsubjpass" in deps or "auxpass" in deps:
        return verb.lemma_.lower() == "quote"
    return (verb.lemma_.lower() not in NEEDS_CLAUSE or has_quote or verb.dep_ == "parataxis"
            or bool(deps & {"ccomp", "parataxis", "xcomp"}))


def _speech_verb(doc: Doc | Span, quoted: set[int]) -> Token | None:
    """The verb of saying outside the quoted tokens closest to the root of the sentence."""
    verbs = [t for t in doc if t.lemma_.lower() in SPEECH_VERBS and t.pos_ in ("VERB", "AUX")
             and t.i not in quoted and _reports_speech(t, bool(quoted))]
    return min(verbs, key=lambda t: (len(list(t.ancestors)), t.i)) if verbs else None


def _subject(verb: Token) -> Token | None:
    """The subject of ``verb``, looking up through conjoined and participle clauses."""
    for tok in [verb, *verb.ancestors]:
        subjects = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")]
        if subjects:
            return subjects[0]
        if tok.dep_ not in ("conj", "xcomp", "advcl", "pcomp", "acl"):
            return None
    return None


def _according_to(doc: Doc | Span) -> Token | None:
    """The source of "according to X" in the sentence."""
    for tok in doc:
        if tok.lower_ == "according" and tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].lower_ == "to":
            objs = [c for c in tok.doc[tok.i + 1].children if c.dep_ == "pobj"]
            if objs:
                return objs[0]
    return None


def name_speaker(subject: Token, people: list[str], last_person: str) -> str:
    """Who ``subject`` is: a person (canonical name), an organisation or place, or the noun
    phrase ("commerce department"); "" for pronouns other than he/she and for documents
    ("the draft budget notes")."""
    if subject.lower_ in PERSON_PRONOUNS:  # the person named just before, in this sentence or earlier
        earlier = [e for e in subject.doc.ents if e.label_ == "PERSON" and e.end <= subject.i]
        return canonical_name(_strip_name(earlier[-1].text), people, last_person) if earlier else last_person
    if subject.pos_ == "PRON":
        return ""
    subtree = list(subject.subtree)
    persons = [e for e in subject.doc.ents if e.label_ == "PERSON" and e.start >= subtree[0].i and e.end <= subtree[-1].i + 1]
    if persons:  # the person the subject is, else the first named ("Malgorzata Kujda, Jarek's sister")
        person = next((e for e in persons if e.start <= subject.i < e.end), persons[0])
        return canonical_name(_strip_name(person.text), people, last_person)
    names = [t for t in subtree if t.pos_ == "PROPN" and t.i <= subject.i and t.lemma_.lower() not in ROLE_NOUNS]
    name = canonical_name(_strip_name(" ".join(t.text for t in names or [subject])), people, last_person)
    if name in people:
        return name
    if subject.lemma_.lower() in ROLE_NOUNS and not names:
        return last_person
    covering = [e for e in subject.doc.ents if e.start <= subject.i < e.end]
    if covering:
        return _strip_name(covering[0].text.removeprefix("the ").removeprefix("The "))
    if subject.lemma_.lower() in DOCUMENT_NOUNS:
        return ""
    words = [t for t in subtree if t.i <= subject.i and t.dep_ not in ("det", "poss", "case", "punct", "predet")]
    return _strip_name(" ".join(t.text for t in words))


def find_speaker(doc: Doc | Span, spans: Spans, people: list[str], last_person: str) -> str:
    """Speaker of one sentence (see module docstring), or "" when it names none."""
    offset = doc.start_char if isinstance(doc, Span) else 0
    quoted = {t.i for t in doc for s, e in spans if s <= t.idx - offset < e}
    verb = _speech_verb(doc, quoted)
    subject = _subject(verb) if verb is not None else None
    if subject is None or subject.i in quoted:
        subject = _according_to(doc)
    return name_speaker(subject, people, last_person) if subject is not None else ""


def _subject_people(doc: Doc | Span, people: list[str]) -> list[str]:
    """Canonical names of the people that are grammatical subjects in the sentence."""
    names = []
    for ent in doc.ents:
        if ent.label_ == "PERSON" and any(t.dep_ in ("nsubj", "nsubjpass") or t.head.dep_ in ("nsubj", "nsubjpass") for t in ent):
            names.append(canonical_name(_strip_name(ent.text), people))
    return names


def attribute_quotes(docs: list[Doc | Span]) -> list[tuple[str, str]]:
    """(quote, speaker) for each sentence of one article, in position order; quote is the
    quoted words ("" when none), speaker as in ``find_speaker``; all sentences of one quote
    share the speaker named in any of them."""
    people = article_people(docs)
    quotes = find_article_quotes([d.text for d in docs])
    last_person = ""
    result: list[tuple[str, str]] = []
    for k, (doc, (spans, _)) in enumerate(zip(docs, quotes)):
        speaker = find_speaker(doc, spans, people, last_person)
        all_quote = bool(spans) and not doc.text[:spans[0][0]].strip(" “‘\"'") and not doc.text[spans[-1][1]:].strip(" .,”’\"'")
        if not speaker and all_quote and k and result[-1][1] and quotes[k - 1][0]:
            speaker = result[-1][1]
        result.append((quote_text(doc.text, [(s, e) for s, e in spans if not is_name(doc.text[s:e])]), speaker))
        if speaker in people:
            last_person = speaker
        subjects = _subject_people(doc, people)
        if subjects:
            last_person = subjects[-1]
    run_start = 0
    for k, (_, continues) in enumerate(quotes):
        if continues:
            continue
        speakers = [s for _, s in result[run_start:k + 1] if s]
        for j in range(run_start, k + 1):
            if speakers and not result[j][1]:
                result[j] = (result[j][0], speakers[0])
        run_start = k + 1
    return result
