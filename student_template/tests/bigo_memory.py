from otter.test_files import test_case

OK_FORMAT = False

name = "bigo_memory"
points = None

@test_case(points=0, hidden=False)
def test_answers_are_readable(env):
    from grader.authoring.cases import case

    def probe(M_run, M_forward, M_backward, M_backward_W1):
        return [M_run, M_forward, M_backward, M_backward_W1]

    def judge(found):
        from grader.answers import readable_bigo
        from grader.authoring.checks import answer_readable
        for name, answer in zip(['M_run', 'M_forward', 'M_backward', 'M_backward_W1'], found):
            answer_readable(answer, name, readable_bigo)
    case(env, probe, judge)

