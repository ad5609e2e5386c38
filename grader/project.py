"""Where the project's files are, whatever the current directory: the checkout this package
runs from (an editable install, as `make` sets up) holds reference/ and dist/autograder.zip."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ZIP = Path("dist") / "autograder.zip"


class MissingZip(Exception):
    """No autograder zip where one was expected; the message says where it looked."""


def root():
    """The project directory this package belongs to, or None if the package is installed
    without its project (a wheel)."""
    folder = PACKAGE.parent
    return folder if (folder / "setup.py").is_file() and (folder / "reference").is_dir() else None


def find_zip(given=None):
    """The autograder zip: `given` (the --zip option) if set, else the project's
    dist/autograder.zip, else ./dist/autograder.zip. Raises MissingZip naming where it looked."""
    if given is not None:
        path = Path(given)
        if path.is_file():
            return path.resolve()
        raise MissingZip(f"--zip {given}: no such file.")
    places = [folder for folder in (root(), Path.cwd()) if folder is not None]
    for folder in places:
        if (folder / ZIP).is_file():
            return (folder / ZIP).resolve()
    looked = " and ".join(str(folder / ZIP) for folder in dict.fromkeys(places))
    raise MissingZip(f"No autograder zip: {looked} does not exist. Build it with `make` in "
                     "the project, or name one with --zip PATH.")
