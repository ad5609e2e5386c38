"""The result of grading one submission: one typed model, one schema on disk (sealed.json).

Sealed grading builds a `Report`; the Gradescope entry point, `otter run`, the class batch and the
class report all read the same object, saved by `Report.save` and read back by `Report.load`.
Every text in it is bounded (`clip`), so no submission can make a results file large.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.verdicts import Flag, Kind, Status

SCHEMA = 3
MAX_MESSAGE = 3_000   # characters in one case's message
MAX_NOTE = 1_000      # characters in one note or message about the whole submission
MAX_NOTES = 100
MAX_PICTURE = 60_000  # characters of a case's graph picture, as JSON


def clip(text, limit):
    """`text` cut to at most `limit` characters, at a word boundary, marked with an ellipsis."""
    text = str(text)
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


@dataclass
class CaseResult:
    name: str
    points: float
    hidden: bool
    passed: bool
    message: str
    kind: Kind = Kind.PASSED
    picture: dict = None   # the graph the check built (grader.feedback.graph), when it failed

    def __post_init__(self):
        self.message = clip(self.message, MAX_MESSAGE)
        self.kind = Kind(self.kind)
        if self.picture is not None and len(json.dumps(self.picture)) > MAX_PICTURE:
            self.picture = None


@dataclass
class QuestionResult:
    name: str
    cases: list
    status: Status = Status.FINISHED
    extra_credit: bool = False

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def score(self):
        return sum(c.points for c in self.cases if c.passed)

    @property
    def possible(self):
        return sum(c.points for c in self.cases)


@dataclass
class Report:
    questions: list
    messages: list = field(default_factory=list)  # for the student, about the whole notebook
    notes: list = field(default_factory=list)     # for course staff only
    flags: dict = field(default_factory=dict)     # Flag value -> details, for staff
    error: str = None                             # set when the submission could not be graded

    def flag(self, kind, detail):
        details = self.flags.setdefault(Flag(kind).value, [])
        if detail not in details and len(details) < MAX_NOTES:
            details.append(clip(detail, MAX_NOTE))

    def note(self, text):
        if len(self.notes) < MAX_NOTES:
            self.notes.append(clip(text, MAX_NOTE))

    def scores(self):
        """{question: (score, possible)} in grading order."""
        return {q.name: (q.score, q.possible) for q in self.questions}

    def totals(self):
        """(regular score, regular points possible, extra credit score)."""
        regular = [q for q in self.questions if not q.extra_credit]
        extra = [q for q in self.questions if q.extra_credit]
        return (sum(q.score for q in regular), sum(q.possible for q in regular),
                sum(q.score for q in extra))

    def to_json(self):
        return {"schema": SCHEMA,
                "questions": [dict(asdict(q), score=q.score, possible=q.possible)
                              for q in self.questions],
                "messages": [clip(m, MAX_NOTE) for m in self.messages[:MAX_NOTES]],
                "notes": self.notes[:MAX_NOTES], "flags": self.flags, "error": self.error,
                "totals": dict(zip(("regular", "possible", "extra_credit"), self.totals()))}

    @classmethod
    def from_json(cls, data):
        questions = [QuestionResult(q["name"], [CaseResult(**c) for c in q["cases"]],
                                    q["status"], q.get("extra_credit", False))
                     for q in data["questions"]]
        return cls(questions, data.get("messages", []), data.get("notes", []),
                   data.get("flags", {}), data.get("error"))

    def save(self, path):
        path = Path(path)
        path.with_suffix(".tmp").write_text(json.dumps(self.to_json(), indent=1))
        path.with_suffix(".tmp").replace(path)

    @classmethod
    def load(cls, path):
        return cls.from_json(json.loads(Path(path).read_text()))

    @classmethod
    def failed(cls, questions, message, extra_credit=()):
        """Every case of every question at zero, with `message` saying why. `questions` have a
        name and cases (name, points, hidden)."""
        report = cls([QuestionResult(q.name, [CaseResult(c.name, c.points, c.hidden, False,
                                                         message, Kind.NOT_GRADED)
                                              for c in q.cases],
                                     Status.SKIPPED, q.name in extra_credit) for q in questions],
                     error=clip(message, MAX_NOTE))
        report.flag(Flag.NOT_GRADED, report.error)
        return report
