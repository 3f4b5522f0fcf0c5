"""Addresses normalize and match as CDS-WG3-01 §7.1.13.1 requires."""

from __future__ import annotations

import pytest

from gridshare.utility.addresses import (
    ABBREVIATIONS,
    is_typical,
    match_addresses,
    normalize_input,
    normalize_stored,
)

SPEC_TYPICAL = "Acme Co., 123 Main  St. #234\n Anytown, CA"
SPEC_ATYPICAL = "Acme Farm Irrigation, 12 mi North on FM 5555, 150 ft West into the field"


@pytest.mark.req("WG3-7.1.13.1-a")
@pytest.mark.parametrize(
    "address",
    [
        "123 Main St #123, Anytown, CA",
        SPEC_TYPICAL,
        "123 Main Street, Anytown, CA 94000",
        "9 N Elm Ave SE, Anytown",
        "12-34 Main St Apt 5\nAnytown, NY",
        "123 E St NW, Washington, DC",
    ],
)
def test_street_addresses_are_typical(address: str) -> None:
    assert is_typical(address)


@pytest.mark.req("WG3-7.1.13.1-a")
@pytest.mark.parametrize(
    "address",
    [
        SPEC_ATYPICAL,
        " 12 mi  North on FM 5555\n 150 ft West",
        "PO Box 12, Anytown, CA",
        "123 Broadway, Anytown, CA",
        "Acme Co., Building 5, 123 Main St, Anytown",
        "Main St, Anytown, CA",
        "",
    ],
)
def test_everything_else_is_atypical(address: str) -> None:
    assert not is_typical(address)


@pytest.mark.req("WG3-7.1.13.1-b")
def test_the_spec_typical_example_normalizes_as_its_steps_show() -> None:
    assert normalize_stored(SPEC_TYPICAL) == "123 main street unit 234, anytown, ca"


@pytest.mark.req("WG3-7.1.13.1-b")
@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("Acme Co., 123 Main St, Anytown, CA", "123 main street, anytown, ca"),
        ("Acme Co.\n123 Main St\nAnytown, CA", "123 main street, anytown, ca"),
        ("123 Main St, Anytown, CA", "123 main street, anytown, ca"),
    ],
)
def test_the_name_segment_is_removed(address: str, normalized: str) -> None:
    assert normalize_stored(address) == normalized


@pytest.mark.req("WG3-7.1.13.1-b")
@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("1 Oak Ave", "1 oak avenue"),
        ("1 Oak Blvd.", "1 oak boulevard"),
        ("1 Oak Rd", "1 oak road"),
        ("1 Oak Dr", "1 oak drive"),
        ("1 Oak Ln", "1 oak lane"),
        ("1 Oak Ct", "1 oak court"),
        ("1 Oak Pl", "1 oak place"),
        ("1 Oak Ter", "1 oak terrace"),
        ("1 Oak Pkwy", "1 oak parkway"),
        ("1 Oak Hwy", "1 oak highway"),
        ("1 Oak Cir", "1 oak circle"),
        ("1 Oak Sq", "1 oak square"),
        ("1 Oak Trl", "1 oak trail"),
        ("1 N Oak St", "1 north oak street"),
        ("1 Oak St SW", "1 oak street southwest"),
        ("1 ne Oak st. nw", "1 northeast oak street northwest"),
        ("1 Oak St Apt 4", "1 oak street apartment 4"),
        ("1 Oak St Apt. #4B", "1 oak street apartment 4b"),
        ("1 Oak St Ste. 100", "1 oak street suite 100"),
        ("1 Oak St Bldg 2", "1 oak street building 2"),
        ("1 Oak St#7", "1 oak street unit 7"),
        ("1 Oak St, Fl 3, Anytown", "1 oak street, floor 3, anytown"),
        ("1 Oak St\nRm 12\nAnytown", "1 oak street, room 12, anytown"),
        ("1 Oak Street Unit 7", "1 oak street unit 7"),
    ],
)
def test_postal_abbreviations_are_expanded(address: str, normalized: str) -> None:
    assert normalize_stored(address) == normalized


@pytest.mark.req("WG3-7.1.13.1-b")
def test_only_the_street_line_is_expanded() -> None:
    # "E" is the street's name, and a city's "St." is not a street suffix.
    assert normalize_stored("123 E St, St. Louis, MO") == "123 e street, st. louis, mo"


@pytest.mark.req("WG3-7.1.13.1-b")
def test_the_abbreviation_table_is_lowercase_and_expands_to_full_words() -> None:
    assert ABBREVIATIONS["st"] == "street"
    assert ABBREVIATIONS["#"] == "unit"
    for abbreviation, full in ABBREVIATIONS.items():
        assert abbreviation == abbreviation.lower() and full == full.lower()
        assert len(full) > len(abbreviation) and full.isalpha()


@pytest.mark.req("WG3-7.1.13.1-b")
def test_typical_segment_breaks_case_and_whitespace_become_one_line() -> None:
    stored = "  123   MAIN st \r\n\tAnytown ,CA\n\n94000 ,, USA  "
    assert normalize_stored(stored) == "123 main street, anytown, ca, 94000, usa"


@pytest.mark.req("WG3-7.1.13.1-c")
def test_the_spec_atypical_example_normalizes_as_its_steps_show() -> None:
    assert normalize_stored(" 12 mi  North on FM 5555\n ...") == "12 mi north on fm 5555 ..."
    assert normalize_stored(SPEC_ATYPICAL) == SPEC_ATYPICAL.lower()


@pytest.mark.req("WG3-7.1.13.1-c")
def test_atypical_addresses_keep_their_words_and_commas() -> None:
    stored = "Acme Farm, 12 mi N on FM 5555\r\n\t150 ft W,  Anytown TX"
    assert normalize_stored(stored) == "acme farm, 12 mi n on fm 5555 150 ft w, anytown tx"


@pytest.mark.req("WG3-7.1.13.1-c")
def test_inputs_get_only_the_atypical_steps() -> None:
    assert normalize_input(SPEC_TYPICAL) == "acme co., 123 main st. #234 anytown, ca"
    assert normalize_input("  123 Main\tSt\r\n\nAnytown  ") == "123 main st anytown"


@pytest.mark.req("WG3-7.1.13.1-c", "WG3-7.1.13.1-d")
def test_an_expanded_input_matches_but_an_abbreviated_one_does_not() -> None:
    stored = {"sp-1": "123 Main St #234, Anytown, CA"}
    assert match_addresses(["123 Main Street Unit 234, Anytown, CA"], stored) == {"sp-1"}
    assert match_addresses(["  123 MAIN street unit 234,  anytown, ca\n"], stored) == {"sp-1"}
    assert match_addresses(["123 Main St #234, Anytown, CA"], stored) == set()
    assert match_addresses(["Acme Co., 123 Main Street Unit 234, Anytown, CA"], stored) == set()


@pytest.mark.req("WG3-7.1.13.1-d")
def test_an_atypical_address_matches_its_own_normalized_form() -> None:
    stored = {7: SPEC_ATYPICAL, 8: "Acme Farm Well, 3 mi South on FM 5555"}
    assert match_addresses([SPEC_ATYPICAL.upper()], stored) == {7}


@pytest.mark.req("WG3-7.1.13.1-d")
def test_zero_one_and_two_matches() -> None:
    stored: dict[str, str | None] = {
        "acct-1": "1 Oak St, Anytown, CA",
        "acct-2": "2 Oak St, Anytown, CA",
        "acct-3": "Acme Co., 2 Oak Street, Anytown, CA",
    }
    assert match_addresses(["1 oak street, anytown, ca"], stored) == {"acct-1"}
    # acct-2 and acct-3 normalize alike: insufficiently unique, so neither matches.
    assert match_addresses(["2 oak street, anytown, ca"], stored) == set()
    assert match_addresses(["3 oak street, anytown, ca"], stored) == set()
    assert match_addresses([], stored) == set()
    both = ["1 oak street, anytown, ca", "2 oak street, anytown, ca", "1 Oak Street, Anytown, CA"]
    assert match_addresses(both, stored) == {"acct-1"}


@pytest.mark.req("WG3-7.1.13.1-d")
def test_missing_and_blank_addresses_never_match() -> None:
    stored: dict[int, str | None] = {1: None, 2: "1 Oak St", 3: "  \n ", 4: ""}
    assert match_addresses(["1 oak street"], stored) == {2}
    assert match_addresses(["", " ", "\n"], stored) == set()
    assert match_addresses(["1 oak street"], {1: None}) == set()
