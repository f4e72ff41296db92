"""A name no card answers to costs one search, once: an audit of a FOCUS export asks whether
each row's SKU and resource fields name a model, and a cloud export has thousands that do not.
(The shared FinOps sample took 24 s to audit when every miss searched the catalog again and
wrote its "closest names" suggestion; the counts below are what made it slow, not the time.)"""

from __future__ import annotations

import pytest

from costkit.core.errors import UnknownModelError
from costkit.pricing import names
from costkit.pricing.book import load_price_book


@pytest.fixture
def counted(monkeypatch):
    calls = {"resolve": 0, "closest": 0}
    resolve, closest = names.NameIndex.resolve, names.NameIndex.closest

    def counting_resolve(self, *args, **kwargs):
        calls["resolve"] += 1
        return resolve(self, *args, **kwargs)

    def counting_closest(self, *args, **kwargs):
        calls["closest"] += 1
        return closest(self, *args, **kwargs)

    monkeypatch.setattr(names.NameIndex, "resolve", counting_resolve)
    monkeypatch.setattr(names.NameIndex, "closest", counting_closest)
    return calls


def test_an_unknown_name_is_searched_once_and_gives_the_same_answer(counted):
    book = load_price_book()
    with pytest.raises(UnknownModelError) as first:
        book.resolve("i-0abc123-not-a-model")
    with pytest.raises(UnknownModelError) as again:
        book.resolve("i-0abc123-not-a-model")
    assert counted["resolve"] == 1
    assert str(first.value) == str(again.value)
    assert again.value.model == "i-0abc123-not-a-model"


def test_the_closest_names_are_searched_only_when_the_message_is_read(counted):
    book = load_price_book()
    for n in range(20):
        with pytest.raises(UnknownModelError):
            book.resolve(f"vm-{n}-standard")
    assert counted["closest"] == 0
    with pytest.raises(UnknownModelError) as error:
        book.resolve("gpt-4x-turbo-foo")
    message = str(error.value)
    assert counted["closest"] == 1
    assert "unknown model 'gpt-4x-turbo-foo'" in message
    assert "closest: openai/gpt-4-turbo" in message


def test_a_learned_miss_stays_unpriced_and_a_known_name_still_resolves(counted):
    book = load_price_book()
    book.learn(["nothing-like-a-model", "deepseek-v3-2"])
    with pytest.raises(UnknownModelError):
        book.resolve("nothing-like-a-model")
    assert counted["resolve"] == 1
    assert book.resolve("deepseek-v3-2") == "deepseek-v3-2"
