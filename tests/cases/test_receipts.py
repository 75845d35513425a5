from hypothesis import given
from hypothesis import strategies as st

from cases import receipts


def test_it_makes_twenty_digit_codes():
    codes = {receipts.new_receipt_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 20 and code.isdigit() for code in codes)
    # Leading zeros survive: a code is a string, not a number.
    assert any(code.startswith("0") for code in codes)


def test_it_groups_codes_in_fours():
    assert receipts.group_code("12345678901234567890") == "1234 5678 9012 3456 7890"


@given(st.text(alphabet="0123456789", min_size=20, max_size=20), st.sampled_from([" ", "-", "", "  "]))
def test_it_reads_back_what_people_type(code, separator):
    typed = separator.join(code[i : i + 4] for i in range(0, 20, 4))
    assert receipts.normalise_code(f" {typed} ") == code


def test_it_refuses_what_cannot_be_a_code():
    assert receipts.normalise_code("1234") is None
    assert receipts.normalise_code("1234 5678 9012 3456 789a") is None
    assert receipts.normalise_code("") is None
    assert receipts.normalise_code("123456789012345678901") is None


def test_the_hash_is_deterministic_keyed_and_hides_the_code():
    code = "12345678901234567890"
    first = receipts.hash_receipt_code(code, salt="site-secret", time_cost=1, memory_kib=1024)
    again = receipts.hash_receipt_code(code, salt="site-secret", time_cost=1, memory_kib=1024)
    other_salt = receipts.hash_receipt_code(code, salt="other-secret", time_cost=1, memory_kib=1024)
    other_code = receipts.hash_receipt_code(
        "12345678901234567891", salt="site-secret", time_cost=1, memory_kib=1024
    )
    assert first == again
    assert len({first, other_salt, other_code}) == 3
    assert code not in first and len(first) == 64


def test_confirmation_codes_are_six_digits():
    codes = [receipts.new_confirmation_code() for _ in range(200)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert receipts.hash_short_code("123456", secret="a") != receipts.hash_short_code("123456", secret="b")
