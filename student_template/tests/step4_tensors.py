from otter.test_files import test_case

OK_FORMAT = False

name = "step4_tensors"
points = None

@test_case(points=1, hidden=False)
def test_polynomial_on_linspace(env):
    from grader.authoring.cases import case

    def probe(Leaf, forward_algorithm, backward_algorithm):
        import torch

        def polynomial(x):
            return x ** 4 - 2 * x ** 3 + 3 * x ** 2 - 4 * x + 5
        xx = Leaf(torch.linspace(-2.0, 3.0, 25), 'x')
        yy = polynomial(xx)
        ysum = yy.sum()
        forward_algorithm(ysum)
        backward_algorithm(ysum, one=torch.tensor(1.0))
        return {'y': yy.result, 'dydx': xx.gradient}

    def judge(found):
        from grader.authoring.checks import close
        import torch
        x = torch.linspace(-2.0, 3.0, 25)
        close(found['y'], x ** 4 - 2 * x ** 3 + 3 * x ** 2 - 4 * x + 5, 'yy.result')
        close(found['dydx'], 4 * x ** 3 - 6 * x ** 2 + 6 * x - 4, 'xx.gradient', hint='It should be the derivative 4x^3 - 6x^2 + 6x - 4 at every point.')
    case(env, probe, judge)

