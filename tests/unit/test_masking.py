"""Masking and fingerprints: lines of one kind share a template and a fingerprint."""

from __future__ import annotations

import pytest

from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.detection.masking import mask, mask_text

# sha256 of "svc\x1ferror\x1fa <num>", first 40 hex digits.
_PINNED = "6b08b15517790c1653a68195f99d6f88398b3bc4"


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("took 1500 ms, retry 3", "took <DURATION>, retry <NUM>"),
        ("block blk_-6952295868487656571 lost", "block blk_<NUM> lost"),
        ("object 0x7ffe12ab freed", "object <HEX> freed"),
        ("hash 9f86d081884c7d659a2feaa0c55ad015 ok", "hash <HEX> ok"),
        ("req 38101a0b-2096-447d-96ea-a692162415ae done", "req <UUID> done"),
        ("from 10.0.0.12:5432 refused", "from <IP> refused"),
        ("peer fe80::1ff:fe23:4567:890a gone", "peer <IP> gone"),
        ("resolve db-7.prod.example.com failed", "resolve <HOST> failed"),
        ("open /var/lib/app/data.db failed", "open <PATH> failed"),
        ("after 2.5s and 3 minutes", "after <DURATION> and <DURATION>"),
        ("table 'orders' missing", "table '<STR>' missing"),
        ("login user=alice id=42", "login user=<VAL> id=<VAL>"),
        ("job status=FAILED reason=oom_killed", "job status=FAILED reason=oom_killed"),
        ('err="dial 10.0.0.1:5432: refused"', 'err="dial <IP>: refused"'),
        ("at 2024-05-01T10:00:00.123Z start", "at <TS> start"),
        ("Jun 14 15:16:01 combo sshd", "<TS> combo sshd"),
        ("[Sun Dec 04 04:47:44 2005] [error]", "[<TS>] [error]"),
        ("mail to ops@example.com bounced", "mail to <EMAIL> bounced"),
        ("GET /api/items?page=2&q=x HTTP/1.1", "GET <PATH>?<QUERY> HTTP/<NUM>"),
        ("Invalid user webmaster from 1.2.3.4", "Invalid user <USER> from <IP>"),
        ("on node MININT-FNANLI5 again", "on node MININT-<ID> again"),
        ("a   lot \t of\nspace", "a lot of space"),
    ],
)
def test_mask_replaces_variable_parts(message: str, template: str) -> None:
    """Each kind of variable part becomes its placeholder; the words around it stay."""
    assert mask_text(message) == template


def test_lines_of_one_kind_share_a_template() -> None:
    """Two occurrences differing only in ids, numbers, hosts and times mask the same."""
    first = "2024-05-01 10:00:01 ERROR pool: timeout after 30s for conn 17 to 10.0.0.5:5432"
    second = "2024-05-02 11:12:13 ERROR pool: timeout after 45s for conn 203 to 10.0.0.9:5432"
    assert mask(first) == mask(second)


@pytest.mark.parametrize(
    ("line", "template"),
    [
        ("2024-05-01T10:00:00.123Z start", "start"),
        (
            "2015-10-18 18:01:47,978 INFO [IPC Server handler 7 on 62270] a.b.Impl: lost 3",
            "lost <NUM>",
        ),
        ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass", "check pass"),
        ("[Sun Dec 04 04:47:44 2005] [error] mod_jk child 6", "mod_jk child <NUM>"),
        ("[Sun Dec 04 04:47:44 2005] [error]", "[<TS>] [error]"),
        ('1.2.3.4 - - [01/May/2024:10:00:00 +0000] "GET /a/1 HTTP/1.1" 502 9', "GET /a 502"),
    ],
)
def test_the_log_header_is_not_part_of_the_template(line: str, template: str) -> None:
    """Time, level, pid, thread and logger in front of a message do not tell kinds apart."""
    assert mask(line) == template


def test_one_message_from_two_threads_and_loggers_shares_a_template() -> None:
    """The same event logged by two threads and classes is one kind."""
    first = (
        "2015-10-18 18:10:01,001 INFO [AsyncDispatcher event handler] a.job.impl.TaskAttemptImpl: "
        "Diagnostics report from attempt_1445144423722_0020_m_000002_0: Error: timeout"
    )
    second = (
        "2015-10-18 18:10:05,777 INFO [IPC Server handler 3 on 62270] a.TaskAttemptListenerImpl: "
        "Diagnostics report from attempt_1445144423722_0020_m_000007_1: Error: timeout"
    )
    assert mask(first) == mask(second)


def test_identity_values_merge_and_state_values_split() -> None:
    """Who or where (user=, rhost=) is masked; a state (status=) tells problems apart."""
    assert mask("auth failure user=root rhost=gw") == mask("auth failure user=bob rhost=10.0.0.1")
    assert mask("task ended status=FAILED") != mask("task ended status=KILLED")


def test_lines_of_different_kinds_keep_different_templates() -> None:
    """Masking keeps the words that tell two kinds of events apart."""
    assert mask("disk /dev/sda1 is full") != mask("disk /dev/sda1 is failing")


def test_fingerprint_is_stable_hex_of_bounded_length() -> None:
    """The same inputs give the same hex digest in every run and on every machine."""
    value = fingerprint("timeout after <DURATION>", "api", "timeout")
    assert value == fingerprint("timeout after <DURATION>", "api", "timeout")
    assert len(value) <= 64
    assert set(value) <= set("0123456789abcdef")


def test_fingerprint_known_value() -> None:
    """The digest is pinned, so a change of scheme (which splits open incidents) is noticed."""
    assert fingerprint("a <NUM>", "svc", "error") == _PINNED


def test_fingerprint_separates_services_and_categories() -> None:
    """One template in two services, or two categories, gives two incidents."""
    base = fingerprint("t <NUM>", "api", "error")
    assert base != fingerprint("t <NUM>", "worker", "error")
    assert base != fingerprint("t <NUM>", "api", "timeout")


def test_fingerprint_ignores_whitespace_and_case_of_template() -> None:
    """Reformatting whitespace or case in a template does not split an incident."""
    assert fingerprint("Conn  Refused <IP>", "api", "network") == fingerprint(
        "conn refused <IP>", "api", "network"
    )
