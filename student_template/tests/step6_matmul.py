from otter.test_files import test_case

OK_FORMAT = False

name = "step6_matmul"
points = None

@test_case(points=1, hidden=False)
def test_matmul_against_pytorch(env):
    from grader.authoring.cases import case
    data = {'A': [[1.0, 1.0], [0.0, 1.0]], 'B': [[1.0, 2.0, 1.0], [0.0, 1.0, 1.0]], 'C': [[3.0, 0.0, 1.0], [1.0, 2.0, 3.0]]}

    def probe(Leaf, forward_algorithm, backward_algorithm, *, data):
        import torch
        A, B, C = [Leaf(torch.tensor(data[name], requires_grad=True), name) for name in 'ABC']
        loss = ((A @ B - C) ** 2).sum()
        forward_algorithm(loss)
        with torch.no_grad():
            backward_algorithm(loss, one=torch.tensor(1.0))
        return {name: node.gradient for name, node in zip('ABC', [A, B, C])}

    def judge(found, data):
        from grader.authoring.checks import close
        import torch
        A, B, C = [torch.tensor(data[name], requires_grad=True) for name in 'ABC']
        ((A @ B - C) ** 2).sum().backward()
        for name, tensor in zip('ABC', [A, B, C]):
            close(found[name], tensor.grad, f'The gradient dloss/d{name}', hint='It should equal what pytorch computes.')
    case(env, probe, judge, data=data)

