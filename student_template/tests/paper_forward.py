from otter.test_files import test_case

OK_FORMAT = False

name = "paper_forward"
points = None

@test_case(points=0, hidden=False)
def test_answers_are_readable(env):
    from grader.authoring.cases import case

    def probe(fwd_a, fwd_b, fwd_c, fwd_d, fwd_e, fwd_z):
        return [fwd_a, fwd_b, fwd_c, fwd_d, fwd_e, fwd_z]

    def judge(found):
        from grader.answers import readable_value
        from grader.authoring.checks import answer_readable
        for name, answer in zip(['fwd_a', 'fwd_b', 'fwd_c', 'fwd_d', 'fwd_e', 'fwd_z'], found):
            answer_readable(answer, name, readable_value)
    case(env, probe, judge)

