from otter.test_files import test_case

OK_FORMAT = False

name = "step2_backward"
points = None

@test_case(points=1, hidden=False)
def test_sinh_at_log2(env):
    from grader.authoring.cases import case

    def probe(Leaf, Exp, Mean, forward_algorithm, backward_algorithm):
        import math
        x = Leaf(math.log(2), 'x')
        cosh_x = Mean(Exp(x), Exp(-x))
        forward_algorithm(cosh_x)
        backward_algorithm(cosh_x)
        return x.gradient

    def judge(found):
        from grader.authoring.checks import close
        import math
        close(found, math.sinh(math.log(2)), 'x.gradient for cosh_x with x = log 2', hint='The derivative of cosh is sinh.')
    case(env, probe, judge)

