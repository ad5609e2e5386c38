from otter.test_files import test_case

OK_FORMAT = False

name = "paper_backward"
points = None

@test_case(points=0, hidden=False)
def test_answers_are_readable(env):
    from grader.authoring.cases import case

    def probe(dz_dz, dz_de, dz_dd, dz_dc, dz_db, dz_da, dz_dx):
        return [dz_dz, dz_de, dz_dd, dz_dc, dz_db, dz_da, dz_dx]

    def judge(found):
        from grader.answers import readable_value
        from grader.authoring.checks import answer_readable
        for name, answer in zip(['dz_dz', 'dz_de', 'dz_dd', 'dz_dc', 'dz_db', 'dz_da', 'dz_dx'], found):
            answer_readable(answer, name, readable_value)
    case(env, probe, judge)

