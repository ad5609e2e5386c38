from otter.test_files import test_case

OK_FORMAT = False

name = "paper_calculus"
points = None

@test_case(points=0, hidden=False)
def test_answers_are_readable(env):
    from grader.authoring.cases import case

    def probe(dz_dx_formula):
        return [dz_dx_formula]

    def judge(found):
        from grader.answers import readable_value
        from grader.authoring.checks import answer_readable
        for name, answer in zip(['dz_dx_formula'], found):
            answer_readable(answer, name, readable_value, variables=('x',))
    case(env, probe, judge)

