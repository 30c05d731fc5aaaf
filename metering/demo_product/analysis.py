"""The reference product behind POST /api/v1/analyze: a small, deterministic text analysis
(word count, sentiment and emotion labels from metering/demo_product/lexicon.json)."""

import json
import re
from functools import cache, lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import ClassVar

from core.errors import DomainError, InvalidInput

MAX_CHARS = 10_000
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


class EmptyText(InvalidInput):
    code = "empty_text"
    title = "Empty text"
    example_detail = "The text is empty. Send at least one word."
    example_extra: ClassVar[dict] = {"errors": {"text": ["Must not be empty."]}}


class TextTooLong(DomainError):
    code = "text_too_long"
    status = HTTPStatus(413)
    title = "Text too long"
    example_detail = f"The text has 12000 characters; the limit is {MAX_CHARS}."
    example_extra: ClassVar[dict] = {"errors": {"text": [f"At most {MAX_CHARS} characters."]}}


@cache
def lexicon() -> dict:
    return json.loads((Path(__file__).parent / "lexicon.json").read_text())


@cache
def _emotion_of() -> dict[str, tuple[str, ...]]:
    """word -> the emotions it signals, built once from the lexicon."""
    out: dict[str, tuple[str, ...]] = {}
    for emotion, vocabulary in lexicon()["emotions"].items():
        for word in set(vocabulary):
            out[word] = (*out.get(word, ()), emotion)
    return out


def validated_text(data) -> str:
    """The `text` of a request body. Raises InvalidInput, EmptyText or TextTooLong."""
    if not isinstance(data, dict):
        raise InvalidInput('Send a JSON object like {"text": "..."}.', errors={"text": ["This field is required."]})
    text = data.get("text")
    if text is None:
        raise InvalidInput('The "text" field is required.', errors={"text": ["This field is required."]})
    if not isinstance(text, str):
        raise InvalidInput('"text" must be a string.', errors={"text": ["Must be a string."]})
    if not text.strip():
        raise EmptyText("The text is empty. Send at least one word.", errors={"text": ["Must not be empty."]})
    if len(text) > MAX_CHARS:
        raise TextTooLong(f"The text has {len(text)} characters; the limit is {MAX_CHARS}.",
                          errors={"text": [f"At most {MAX_CHARS} characters."]})
    return text


@lru_cache(maxsize=1)  # the cost callable and the view read the same text one after the other
def words(text: str) -> tuple[str, ...]:
    return tuple(w.lower().strip("'") for w in _WORD.findall(text))


def token_count(text: str) -> int:
    return len(words(text))


def analyze(text: str) -> dict:
    tokens = words(text)
    lex, emotion_of = lexicon(), _emotion_of()
    sentiment, emotion_names = lex["sentiment"], lex["emotions"]
    score = sum([sentiment.get(w, 0) for w in tokens])
    normalised = round(max(-1.0, min(1.0, score / max(3, len(tokens)) * 2)), 3)
    label = "positive" if normalised > 0.05 else "negative" if normalised < -0.05 else "neutral"
    counts = dict.fromkeys(emotion_names, 0)
    total = 0
    for w in tokens:
        for emotion in emotion_of.get(w, ()):
            counts[emotion] += 1
            total += 1
    if total:
        emotions = {e: round(n / total, 3) for e, n in counts.items()}
        dominant = max(emotions, key=lambda e: (emotions[e], e))
    else:
        emotions, dominant = dict.fromkeys(emotion_names, 0.0), "neutral"
    return {
        "words": len(tokens),
        "characters": len(text),
        "sentences": len([s for s in _SENTENCE.findall(text) if s.strip()]),
        "sentiment": {"label": label, "score": normalised},
        "emotions": emotions,
        "dominant_emotion": dominant,
    }
