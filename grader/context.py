"""The run context of one grading: where things are, and what the zip says, read once.

An autograder directory is laid out as Gradescope lays out /autograder: source/ (the unpacked
autograder.zip: homework.json, otter_config.json, tests/), submission/ (what the student
uploaded), results/ (what grading writes). Everything that reads those files reads them through
a `Context`.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_NAME = "results.json"   # Gradescope's results, in Otter's format
REPORT_NAME = "sealed.json"     # every case's verdict, for staff and the class tools
OUTPUT_NAME = "output.txt"      # what grading printed, for staff
PLUGIN = "grader.otter_plugin.SealedGrading"
DEFAULTS = {"step_timeout": 20, "submission_timeout": 240, "memory_mb": 3072, "extra_credit": []}


def settings(plugin_config):
    """The sealed grader's settings: defaults updated by the plugin's otter_config entry."""
    return {**DEFAULTS, **(plugin_config or {})}


def plugin_settings(config):
    """The settings in an otter_config.json's plugin list."""
    entries = [e for e in config.get("plugins", []) if isinstance(e, dict) and PLUGIN in e]
    return settings(entries[0][PLUGIN] if entries else None)


@dataclass
class Context:
    autograder: Path
    homework: dict        # homework.json, written by the build (grader.assign.build)
    config: dict          # otter_config.json
    settings: dict        # the sealed grader's settings (DEFAULTS, then the zip's)
    _questions: list = field(default=None, repr=False)

    @classmethod
    def load(cls, autograder):
        autograder = Path(autograder).resolve()
        source = autograder / "source"
        config = json.loads((source / "otter_config.json").read_text())
        return cls(autograder, json.loads((source / "homework.json").read_text()), config,
                   plugin_settings(config))

    @property
    def source(self):
        return self.autograder / "source"

    @property
    def submission(self):
        return self.autograder / "submission"

    @property
    def results(self):
        return self.autograder / "results"

    @property
    def extra_credit(self):
        return set(self.settings["extra_credit"])

    def questions(self):
        """The homework's questions with every case (hidden ones too), in notebook order."""
        if self._questions is None:
            from grader.questions import load_questions

            self._questions = load_questions(self.source / "tests", self.homework["questions"])
        return self._questions
