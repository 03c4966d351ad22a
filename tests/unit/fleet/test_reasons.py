"""Why a board gave no result: OpenSSH's raw messages (as Ansible reports them) become one line
from a closed list, with what to do."""
import pytest

from edgec.fleet.reasons import one_line, unreachable

HOST_KEY_CHANGED = """Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.
Host key verification failed."""


@pytest.mark.parametrize("message, code, words", [
    (HOST_KEY_CHANGED, "host key changed", "ssh-keygen -R"),
    ("Failed to connect to the host via ssh: edgec@127.0.0.1: Permission denied "
     "(publickey,password).", "authentication failed", "authorized_keys"),
    ("Failed to connect to the host via ssh: ssh: connect to host 127.0.0.9 port 2299: "
     "Connection refused", "unreachable: connection refused", "127.0.0.9"),
    ("Failed to connect to the host via ssh: ssh: Could not resolve hostname nano-7: Name or "
     "service not known", "unreachable: name not resolved", "ansible_host"),
    ("Failed to connect to the host via ssh: ssh: connect to host 10.0.0.5 port 22: "
     "Connection timed out", "unreachable: timed out", "powered"),
    ("something else entirely\nover two lines", "unreachable", "over two lines"),
])
def test_reasons_are_one_line_from_a_closed_list(message, code, words):
    found, reason = unreachable(message)
    assert found == code and words in reason
    assert reason.startswith(code.replace("unreachable: ", "")) or code == "unreachable"
    assert "\n" not in reason and "@@@" not in reason and "|" not in reason
    assert len(reason) < 700


def test_one_line_keeps_markdown_tables_intact():
    assert one_line("a |\n  b\t@@@@ c") == "a / b c"
    assert one_line(None) == ""


def test_a_crashed_bench_is_reported_as_a_crash_not_as_the_builds_outcome(tmp_path):
    from edgec.fleet.reasons import exit_text, missing_result

    log = tmp_path / "bench-mix.log"
    log.write_text("warming up\nmeasuring\nSegmentation fault (core dumped)\n")
    outcome = {"built": "no TensorRT: benchmarked the bundle's ONNX in ONNX Runtime instead",
               "bench_exit_status": 139}
    reason = missing_result("mix", outcome, str(log))
    assert reason.startswith("mix: bench crashed (killed by signal 11 (SIGSEGV))")
    assert "Segmentation fault" in reason and "no TensorRT" not in reason
    assert exit_text(-9) == "killed by signal 9 (SIGKILL)" and exit_text(2) == "exit status 2"
    assert missing_result("fp16", dict(outcome, bench_exit_status=0), str(log)) == \
        "fp16: " + outcome["built"]
    assert missing_result("int8", None, str(log)) == "int8: no outcome recorded"


def test_a_bench_over_its_limit_is_reported_as_timed_out():
    from edgec.fleet.preflight import TIMED_OUT, outcome_record
    from edgec.fleet.reasons import missing_result

    build = {"item": "mix", "rc": 1, "stderr": "TensorRT is not installed on this host"}
    record = outcome_record(build, {"rc": TIMED_OUT}, 30)
    assert record["bench_timed_out"] is True and record["bench_timeout_s"] == 30
    assert missing_result("mix", record, "/nonexistent") == \
        "mix: timed out in bench after 30 s (edgec_bench_timeout): the bench was stopped"
    assert outcome_record(build, {"rc": 0}, 30)["bench_timed_out"] is False
    assert outcome_record(build, {"rc": TIMED_OUT})["bench_timed_out"] is False  # no limit set
