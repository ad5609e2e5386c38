from otter.test_files import test_case

OK_FORMAT = False

name = "step1_forward"
points = None

@test_case(points=1, hidden=False)
def test_cosh_at_log2(env):
    from grader.authoring.cases import case

    def probe(Leaf, Exp, Mean, forward_algorithm):
        import math
        x = Leaf(math.log(2), 'x')
        cosh_x = Mean(Exp(x), Exp(-x))
        forward_algorithm(cosh_x)
        return cosh_x.result

    def judge(found):
        from grader.authoring.checks import close
        import math
        close(found, math.cosh(math.log(2)), 'cosh_x.result with x = log 2', hint='forward_algorithm should call forward() on every node, inputs before outputs.')
    case(env, probe, judge)

