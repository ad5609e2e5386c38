"""Written answers graded by meaning: big-O bounds and exact values.

    compare_bigo(answer, reference)             -> Verdict   O(n b d^2) vs O(nbd^2 + nbd)
    compare_value(answer, reference, seed=None) -> Verdict   "log 2" vs "\\ln 2", sinh(x) vs ...
    readable_bigo(answer), readable_value(answer, variables=())  -> Verdict (can it be read?)

Modules: compare (the comparisons, and how an answer is read), parse (text -> trees), evaluate
(numbers from trees, exact equality), bigo and values (the two kinds of answer), latex (text
scanning without sympy), boxes (answers written in the notebook's markdown). The functions
below import the comparisons when first called: reading the boxes needs no sympy.
"""


def compare_bigo(answer, reference):
    """Is the answer the same bound as the reference, up to constant factors?"""
    from .compare import compare_bigo as compare

    return compare(answer, reference)


def compare_value(answer, reference, *, seed=None):
    """Is the answer equal to the reference (a number, or a formula in x)?"""
    from .compare import compare_value as compare

    return compare(answer, reference, seed=seed)


def readable_bigo(answer):
    """Can the answer be read as a bound? (Never whether it is right.)"""
    from .compare import readable_bigo as readable

    return readable(answer)


def readable_value(answer, variables=()):
    """Can the answer be read as a value? (Never whether it is right.)"""
    from .compare import readable_value as readable

    return readable(answer, variables)
