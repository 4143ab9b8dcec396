"""The online template miner: one cluster per kind of message, with a key that never changes."""

from __future__ import annotations

from oncall_agent.detection.miner import WILDCARD, TemplateMiner


def test_messages_differing_in_an_unmasked_word_share_a_cluster() -> None:
    """A value masking cannot recognise (a table name) does not split one kind of message."""
    miner = TemplateMiner()
    first = miner.add("could not refresh table orders for tenant <NUM> after retry")
    second = miner.add("could not refresh table invoices for tenant <NUM> after retry")
    assert first is second
    assert first.template == f"could not refresh table {WILDCARD} for tenant <NUM> after retry"


def test_the_key_stays_the_first_message_while_the_template_generalises() -> None:
    """The fingerprinted key is the first masked message, whatever joins later."""
    miner = TemplateMiner()
    cluster = miner.add("backup of volume data failed on shard <NUM> of <NUM>")
    miner.add("backup of volume logs failed on shard <NUM> of <NUM>")
    assert cluster.key == "backup of volume data failed on shard <NUM> of <NUM>"
    assert WILDCARD in cluster.template and cluster.size == 2


def test_messages_of_one_length_with_mostly_different_words_stay_apart() -> None:
    """Equal token counts alone do not merge: most constant words must agree."""
    miner = TemplateMiner()
    started = miner.add("job <NUM> started on queue batch")
    killed = miner.add("job <NUM> killed by user request")
    assert started is not killed
    assert started.template == "job <NUM> started on queue batch"


def test_different_lengths_and_different_words_are_different_clusters() -> None:
    """Messages with nothing in common never join."""
    miner = TemplateMiner()
    one = miner.add("disk full on <PATH>")
    two = miner.add("connection refused by <IP>")
    three = miner.add("disk full")
    assert len({one.id, two.id, three.id}) == 3
    assert len(miner) == 3


def test_a_message_seen_before_returns_to_its_cluster() -> None:
    """A repeated message counts in the cluster it first joined."""
    miner = TemplateMiner()
    first = miner.add("pool exhausted size <NUM>")
    again = miner.add("pool exhausted size <NUM>")
    assert first is again and first.size == 2
