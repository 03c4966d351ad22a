"""Why a board gave no result, from a closed list, in words a person reads: SSH's and
Ansible's raw messages (multi-line, `@@@@` banners) become one line with the cause and what
to do. Tested on captured OpenSSH messages."""
import re
from typing import List, Optional, Tuple  # noqa: F401

SAID = 200  # characters of the raw message kept after the explanation
# (code, pattern in the raw message, what to say): the first match wins.
UNREACHABLE = [
    ("host key changed",
     r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed",
     "its SSH host key changed since it was recorded: another machine may be answering at "
     "this address (impersonation), or the board was reinstalled. Compare the key on the "
     "board's console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) with the one "
     "recorded; if it is the board, replace it: ssh-keygen -R HOST, then ssh-keyscan HOST >> "
     "~/.ssh/known_hosts"),
    ("authentication failed", r"Permission denied \(|Authentication failed|Too many "
     r"authentication failures",
     "SSH refused the key: the inventory's ansible_user and key must be authorised on the "
     "board (~/.ssh/authorized_keys); edgec never uses passwords"),
    ("unreachable: name not resolved",
     r"Could not resolve hostname|Name or service not known|nodename nor servname",
     "its name does not resolve: check the inventory's ansible_host"),
    ("unreachable: connection refused", r"Connection refused",
     "nothing accepts SSH at that address and port: is sshd running, is ansible_port right?"),
    ("unreachable: timed out", r"timed out|Connection timed out|No route to host",
     "no answer from the board: is it powered and on this network?"),
]  # type: List[Tuple[str, str, str]]


def one_line(text):
    # type: (Optional[str]) -> str
    """A message on one line: banners of @ and runs of whitespace collapsed, pipes (which
    break Markdown tables) replaced."""
    text = re.sub(r"@{3,}", " ", text or "")
    return re.sub(r"\s+", " ", text).replace("|", "/").strip()


def unreachable(message):
    # type: (Optional[str]) -> Tuple[str, str]
    """(code, one-line reason) for a board Ansible could not reach."""
    said = one_line(message)
    if len(said) > SAID:
        said = said[:SAID - 3] + "..."
    for code, pattern, words in UNREACHABLE:
        if re.search(pattern, message or ""):
            # The status ("unreachable") is printed before the reason: not twice.
            return code, "%s: %s (ssh said: %s)" % (code.replace("unreachable: ", ""), words,
                                                   said)
    return "unreachable", said


def exit_text(status):
    # type: (int) -> str
    """An exit status in words: a shell reports a process killed by signal N as 128 + N."""
    import signal

    number = -status if status < 0 else (status - 128 if status > 128 else None)
    if number:
        try:
            return "killed by signal %d (%s)" % (number, signal.Signals(number).name)
        except ValueError:
            return "killed by signal %d" % number
    return "exit status %d" % status


def missing_result(precision, outcome, log_path):
    # type: (str, Optional[dict], str) -> str
    """Why a precision has no result-<precision>.json: the bench crashed (its exit status or
    signal and the last lines of its log), or the build's outcome, or nothing recorded."""
    import os

    if outcome is None:
        return "%s: no outcome recorded" % precision
    status = outcome.get("bench_exit_status")
    if outcome.get("bench_timed_out"):
        return ("%s: timed out in bench after %s s (edgec_bench_timeout): the bench was stopped"
                % (precision, outcome.get("bench_timeout_s")))
    if status not in (None, 0):
        tail = ""
        if os.path.isfile(log_path):
            with open(log_path, errors="replace") as handle:
                tail = one_line(" ".join(handle.read().splitlines()[-3:]))[-SAID:]
        return "%s: bench crashed (%s)%s" % (precision, exit_text(int(status)),
                                             ": " + tail if tail else "")
    return "%s: %s" % (precision, outcome.get("built", "no outcome recorded"))
