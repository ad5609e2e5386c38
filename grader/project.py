"""Where the project's files are, whatever the current directory.

The project is the checkout that holds reference/ and dist/autograder.zip: the one the current
directory is in (found upward, as git finds its repository), else the one this package is
installed from (an editable install, as `make` sets up).
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ZIP = Path("dist") / "autograder.zip"


class MissingZip(Exception):
    """No autograder zip where one was expected; the message says where it looked."""


def is_project(folder):
    folder = Path(folder)
    return (folder / "setup.py").is_file() and (folder / "reference").is_dir() \
        and (folder / "grader").is_dir()


def installed():
    """The project this package is installed from, or None (installed as a wheel)."""
    return PACKAGE.parent if is_project(PACKAGE.parent) else None


def current(start=None):
    """The project the current directory (or `start`) is in, or None."""
    folder = Path(start or Path.cwd()).resolve()
    return next((f for f in (folder, *folder.parents) if is_project(f)), None)


def root():
    """(project directory, how it was found), or (None, None): the project of the current
    directory first, else the installed one."""
    here, home = current(), installed()
    if here is not None:
        return here, "the project the current directory is in"
    if home is not None:
        return home, "the project this package is installed from"
    return None, None


def find_zip(given=None):
    """The autograder zip: `given` (the --zip option) if set, else the project's
    dist/autograder.zip (see `root`), else ./dist/autograder.zip. Raises MissingZip naming where
    it looked."""
    if given is not None:
        path = Path(given)
        if path.is_file():
            return path.resolve()
        raise MissingZip(f"--zip {given}: no such file.")
    places = [folder for folder in (root()[0], Path.cwd()) if folder is not None]
    for folder in places:
        if (folder / ZIP).is_file():
            return (folder / ZIP).resolve()
    looked = " and ".join(str(folder / ZIP) for folder in dict.fromkeys(places))
    raise MissingZip(f"No autograder zip: {looked} does not exist. Build it with `make` in "
                     "the project, or name one with --zip PATH.")
