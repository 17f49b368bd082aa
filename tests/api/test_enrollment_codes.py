"""Enrollment codes and the sealed bundle (api/enrollment/codes.py): pure, no I/O."""

from __future__ import annotations

import os

import pytest

from api.enrollment.codes import (
    ALPHABET,
    SealBroken,
    code_hash,
    new_code,
    new_password,
    normalize_code,
    seal,
    unseal,
)
from api.errors import InvalidRequest

pytestmark = pytest.mark.unit


def test_a_new_code_is_three_groups_of_four_crockford_characters():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4] and set("".join(groups)) <= set(ALPHABET)


@pytest.mark.parametrize("typed", ["7KQM-3TZX-H9PA", "7kqm3tzxh9pa", " 7KQM 3TZX H9PA ", "7kqm-3tzx-h9pa"])
def test_what_the_installer_types_is_read_leniently(typed):
    assert normalize_code(typed) == "7KQM3TZXH9PA"


def test_letters_that_look_like_digits_read_as_the_digits():
    assert normalize_code("OOOO-IIII-LLLL") == "000011111111"


@pytest.mark.parametrize("typed", ["7KQM-3TZX-H9P", "7KQM-3TZX-H9PAX", "UUUU-3TZX-H9PA", "7KQM-3TZX-H9P!"])
def test_anything_else_is_refused_with_what_a_code_looks_like(typed):
    with pytest.raises(InvalidRequest, match="12 characters"):
        normalize_code(typed)


def test_the_stored_hash_is_pinned():
    # Stored codes are found by this hash: changing it orphans every code issued before.
    assert code_hash("7kqm 3tzx h9pa").hex() == "ae82e8e4f636a7bfc422bba15b1cf31082092e277100084fa84fb7b7ff53d245"


def test_a_sealed_bundle_opens_with_its_code_only():
    salt = os.urandom(16)
    sealed = seal(b'{"mqtt_password":"p"}', "7KQM-3TZX-H9PA", salt)
    assert b"mqtt_password" not in sealed
    assert unseal(sealed, "7kqm3tzxh9pa", salt) == b'{"mqtt_password":"p"}'
    with pytest.raises(SealBroken):
        unseal(sealed, "7KQM-3TZX-H9PB", salt)
    with pytest.raises(SealBroken):
        unseal(sealed, "7KQM-3TZX-H9PA", os.urandom(16))
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealBroken):
        unseal(tampered, "7KQM-3TZX-H9PA", salt)


def test_passwords_are_long_and_random():
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50 and min(len(p) for p in passwords) >= 43
