"""The ledger's hash chain, as pure functions: any change, removal or reordering is found, at
the first event whose link no longer holds."""

from hypothesis import given
from hypothesis import strategies as st

from consent.chain import GENESIS, Link, event_digest, first_broken_link

FIELDS = st.fixed_dictionaries(
    {
        "subject": st.uuids().map(str),
        "action": st.sampled_from(["give", "withdraw"]),
        "purpose": st.text(max_size=20),
    }
)


def chained(fields_list) -> list[Link]:
    links, previous = [], GENESIS
    for number, fields in enumerate(fields_list, start=1):
        digest = event_digest(previous=previous, fields=fields)
        links.append(Link(number, previous, digest, fields))
        previous = digest
    return links


@given(st.lists(FIELDS, max_size=20))
def test_an_untouched_chain_holds(fields_list):
    assert first_broken_link(chained(fields_list)) is None


@given(st.lists(FIELDS, min_size=1, max_size=20), st.data())
def test_a_changed_event_is_the_first_broken_link(fields_list, data):
    links = chained(fields_list)
    index = data.draw(st.integers(0, len(links) - 1))
    tampered = dict(links[index].fields, action="tampered")
    links[index] = Link(links[index].id, links[index].previous, links[index].digest, tampered)
    assert first_broken_link(links) == links[index].id


@given(st.lists(FIELDS, min_size=2, max_size=20), st.data())
def test_a_removed_event_breaks_the_link_after_it(fields_list, data):
    links = chained(fields_list)
    index = data.draw(st.integers(0, len(links) - 2))
    after = links[index + 1].id
    del links[index]
    assert first_broken_link(links) == after


def test_a_rehashed_event_still_breaks_the_next_link():
    links = chained([{"action": "give"}, {"action": "give"}, {"action": "withdraw"}])
    forged = {"action": "withdraw"}
    links[1] = Link(2, links[1].previous, event_digest(previous=links[1].previous, fields=forged), forged)
    assert first_broken_link(links) == 3
