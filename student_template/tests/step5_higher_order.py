from otter.test_files import test_case

OK_FORMAT = False

name = "step5_higher_order"
points = None

@test_case(points=1, hidden=False)
def test_polynomial_derivatives_on_linspace(env):
    from grader.authoring.cases import case
    program = 'y = x**4 - 2 * x**3 + 3 * x**2 - 4 * x + 5\nysum = y.sum()'
    leaves = {'x': {'data': [-2.0 + 5.0 * i / 24 for i in range(25)], 'dtype': 'float32'}}

    def probe(Leaf, forward_algorithm, backward_algorithm, build_graph, *, program, leaves):
        from grader.authoring.probes import higher_derivatives
        return higher_derivatives(program, leaves, 'x', 3, Leaf, forward_algorithm, backward_algorithm, build_graph)

    def judge(found, program, leaves):
        from grader.authoring.checks import derivatives_match
        derivatives_match(found, program, leaves, 'x', 3, context='For the polynomial of the homework')
    case(env, probe, judge, program=program, leaves=leaves)

