"""The one secret scrubber: remembered values and credential shapes, whatever else was
remembered before (the order of the tests that fill it must not matter)."""

from __future__ import annotations

from fabrictui import scrub


def test_a_remembered_word_of_a_credential_does_not_hide_its_secret(monkeypatch):
    """A kubeconfig's "Bearer xyz" is remembered word by word; the word "Bearer" masked first
    once left the secret after it in the clear."""
    monkeypatch.setattr(scrub, "_known", ())
    scrub.remember(["Bearer", "abcdef-known"])
    text = scrub.scrub("curl -H 'Authorization: Bearer xyz789' token=abc123secret abcdef-known")
    assert "xyz789" not in text and "abc123secret" not in text and "abcdef-known" not in text


def test_short_values_are_not_remembered(monkeypatch):
    monkeypatch.setattr(scrub, "_known", ())
    scrub.remember(["pod", "node-1"])
    assert scrub.scrub("pod node-1 ready") == "pod *** ready"
