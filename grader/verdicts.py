"""The words grading decides with, defined once: how a question's check ended (`Status`), why a
case passed or failed (`Kind`), and what course staff are flagged about (`Flag`).

They travel typed from the judge to sealed.json, results.json, scores.csv and the class report;
their values are the words those files show.
"""

from enum import Enum


class Status(str, Enum):
    """How the check of one question ended."""
    FINISHED = "finished"    # every case was answered
    TIMEOUT = "timeout"      # it ran out of time
    CRASHED = "crashed"      # its process ended early
    GARBLED = "garbled"      # its process sent what cannot be read
    TAMPERED = "tampered"    # its process sent what the harness did not write, or used autograd
    SKIPPED = "skipped"      # not started: time ran out, a cell it needs hangs, or no grading


class Kind(str, Enum):
    """Why a case passed or failed."""
    PASSED = "passed"
    WRONG = "wrong"              # values or answer checked, and wrong
    UNREADABLE = "unreadable"    # an answer that cannot be read as a formula
    UNANSWERED = "unanswered"    # an answer left as its placeholder, or not written at all
    NOT_DEFINED = "not defined"  # a name of the engine the check needs is not defined
    ERROR = "error"              # the student's code raised
    STOPPED = "stopped"          # the question's check did not finish (see its Status)
    NOT_GRADED = "not graded"    # the submission could not be graded at all


class Flag(str, Enum):
    """What course staff are told to look at, in scores.csv and the class report."""
    NOT_GRADED = "not graded"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    TAMPERED = "tampered"
    EVIDENCE = "evidence"                      # gradients did not flow through backward()
    REVIEW = "review"                          # the static scan found suspect names
    EDITED = "edited"                          # a "Do not change" cell was changed
    RENAMED = "renamed"
    ANSWERS_FROM_BOXES = "answers from boxes"
    ANSWERS_FROM_DISPLAY_MATH = "answers from display math"
    NO_ANSWER = "no answer"


# A question that did not finish flags staff with this kind.
STATUS_FLAGS = {Status.TIMEOUT: Flag.TIMEOUT, Status.SKIPPED: Flag.TIMEOUT,
                Status.TAMPERED: Flag.TAMPERED, Status.CRASHED: Flag.CRASHED,
                Status.GARBLED: Flag.CRASHED}
