from otter.test_files import test_case

OK_FORMAT = False

name = "step3_add_mul"
points = None

@test_case(points=1, hidden=False)
def test_tanh_at_log2(env):
    from grader.authoring.cases import case

    def probe(Leaf, Exp, forward_algorithm, backward_algorithm):
        import math
        x = Leaf(math.log(2), 'x')
        expx = Exp(x)
        expnx = Exp(-x)
        tanh_x = (expx - expnx) / (expx + expnx)
        forward_algorithm(tanh_x)
        backward_algorithm(tanh_x)
        return {'tanh': tanh_x.result, 'gradient': x.gradient}

    def judge(found):
        from grader.authoring.checks import close
        import math
        tanh = math.tanh(math.log(2))
        close(found['tanh'], tanh, 'tanh_x.result with x = log 2')
        close(found['gradient'], 1 - tanh ** 2, 'x.gradient for tanh_x with x = log 2', hint='The derivative of tanh is 1 - tanh**2.')
    case(env, probe, judge)

