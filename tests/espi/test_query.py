"""ESPI query parameters (`espi.query`, DIGEST §6): both datetime forms, counts, the message of a
malformed value (Green Button QRY002: every one of the seven is a 400), and how a query keeps and
pages entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridshare.espi.query import Query, QueryError

NAMES = (
    "published-min",
    "published-max",
    "updated-min",
    "updated-max",
    "max-results",
    "start-index",
    "depth",
)
OCT_1 = datetime(2024, 10, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    ["2024-10-01T07:00:00Z", "1727766000", "2024-10-01T00:00:00-07:00", "2024-10-01T07:00:00.000Z"],
)
def test_datetimes_are_xs_datetime_or_epoch_seconds(value: str) -> None:
    query = Query.parse({"published-min": value, "updated-max": value})
    assert query.published_min == OCT_1 and query.updated_max == OCT_1


def test_counts_and_absent_parameters() -> None:
    assert Query.parse({}) == Query()
    query = Query.parse({"max-results": "10", "start-index": "0", "depth": "3", "other": "x"})
    assert (query.max_results, query.start_index, query.depth) == (10, 0, 3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", ["abc", "", "-1", "2024-13-01T00:00:00Z", "1.5", "99999999999"])
def test_a_malformed_value_names_its_parameter_and_form(name: str, value: str) -> None:
    if name.startswith(("published", "updated")) and value == "99999999999":
        value = "2024-10-01"  # a date without a time is not an xs:dateTime
    with pytest.raises(QueryError) as raised:
        Query.parse({name: value})
    assert raised.value.parameter == name
    message = str(raised.value)
    assert message.startswith(f"{name}={value!r} is not valid")
    assert ("xs:dateTime" in message) == name.startswith(("published", "updated"))
    assert isinstance(raised.value, ValueError)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(QueryError):
        Query.parse({"updated-min": "2024-10-01T07:00:00"})


def test_blocks_are_kept_by_the_time_of_their_readings_other_entries_by_published() -> None:
    query = Query.parse({"published-min": "1000", "published-max": "2000"})
    at = datetime.fromtimestamp
    assert query.keeps_interval(at(1000, UTC), at(2000, UTC), at(5, UTC))
    assert not query.keeps_interval(at(999, UTC), at(1500, UTC), at(1500, UTC))
    assert not query.keeps_interval(at(1000, UTC), at(2001, UTC), at(1500, UTC))
    assert query.keeps(at(1000, UTC), at(9999, UTC)) and query.keeps(at(2000, UTC), at(1, UTC))
    assert not query.keeps(at(2001, UTC), at(1500, UTC))
    updated = Query.parse({"updated-min": "10", "updated-max": "20"})
    assert updated.keeps_interval(at(0, UTC), at(99, UTC), at(10, UTC))
    assert not updated.keeps_interval(at(0, UTC), at(99, UTC), at(21, UTC))
    assert not updated.keeps(at(15, UTC), at(9, UTC))


def test_paging_is_one_based_and_bounded_by_max_results_and_depth() -> None:
    def page(**params: str) -> list[int]:
        return list(Query.parse(params).page(iter(range(1, 11))))

    assert page() == list(range(1, 11))
    assert page(**{"start-index": "3"}) == list(range(3, 11))
    assert page(**{"start-index": "0"}) == page(**{"start-index": "1"}) == list(range(1, 11))
    assert page(**{"start-index": "9", "max-results": "5"}) == [9, 10]
    assert page(**{"max-results": "4", "depth": "2"}) == [1, 2]
    assert page(**{"start-index": "11"}) == []
