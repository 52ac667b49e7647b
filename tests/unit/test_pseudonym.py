"""Customer pseudonyms are keyed, stable and reveal nothing of the raw id."""

from __future__ import annotations

from alexa_skill_metrics.recording.pseudonym import Pseudonymizer

USER = "amzn1.ask.account.AH5B65MHWEEADT3GD4QFPRNE4CMWL3G55MB263GPKI5QM6T7RECJUPJI2M3KZ"


def test_same_key_same_pseudonym_across_instances() -> None:
    # Given two containers with the same key, Then they agree on every customer
    assert Pseudonymizer(b"k" * 16)(USER) == Pseudonymizer(b"k" * 16)(USER)


def test_other_key_other_pseudonym_and_other_user_other_pseudonym() -> None:
    p = Pseudonymizer(b"k" * 16)
    assert p(USER) != Pseudonymizer(b"j" * 16)(USER)
    assert p(USER) != p(USER + "X")


def test_pseudonym_is_short_and_contains_no_part_of_the_id() -> None:
    pseudonym = Pseudonymizer(b"k" * 16)(USER)
    assert len(pseudonym) == 22
    assert "amzn1" not in pseudonym and USER[-8:] not in pseudonym
