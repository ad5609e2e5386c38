"""A corpus of student engines: realistic mistakes, and correct engines in other styles.

Each wrong engine is the reference engine with one definition replaced (the replacement is
appended to the # MAIN CODE cell, so it wins). `expect` gives the score of every engine step;
steps not listed must keep full marks. Scores follow the points in the reference notebook:
each step is worth 5; a case worth 1, 1.5 or 0.5 is lost as a whole.
"""


# Mistakes, each listed with what it should cost and why.
WRONG = {
    # ---- forward ----
    "forward_only_output": dict(
        code='''
def forward_algorithm(graph):
    graph.forward()
    return graph
''',
        # nothing below the output is computed: every step fails
        expect={"step1_forward": 0, "step2_backward": 0, "step3_add_mul": 0,
                "step4_tensors": 0, "step5_higher_order": 0, "step6_matmul": 0}),
    "forward_reverse_order": dict(
        code='''
def forward_algorithm(graph):
    for node in reversed(graph.sorted_nodes()):
        node.forward()
    return graph
''',
        expect={"step1_forward": 0, "step2_backward": 0, "step3_add_mul": 0,
                "step4_tensors": 0, "step5_higher_order": 0, "step6_matmul": 0}),
    "forward_inputs_one_level": dict(
        code='''
def forward_algorithm(graph):
    for node in graph.input_nodes:
        node.forward()
    graph.forward()
    return graph
''',
        expect={"step1_forward": 0, "step2_backward": 0, "step3_add_mul": 0,
                "step4_tensors": 0, "step5_higher_order": 0, "step6_matmul": 0}),
    "forward_recomputes_per_path": dict(
        # right values, exponential time: only the call count can tell
        code='''
def forward_algorithm(graph):
    def visit(node):
        for input_node in node.input_nodes:
            visit(input_node)
        node.forward()
    visit(graph)
    return graph
''',
        expect={"step1_forward": 4}),
    "forward_skips_computed_nodes": dict(
        # stale results once an input changes
        code='''
def forward_algorithm(graph):
    for node in graph.sorted_nodes():
        if node.result is None:
            node.forward()
    return graph
''',
        expect={"step1_forward": 4}),
    # ---- backward ----
    "backward_overwrites": dict(
        code='''
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    for node in nodes:
        node.gradient = None
    graph.gradient = one
    for node in reversed(nodes):
        for input_node, gradient in zip(node.input_nodes, node.backward()):
            input_node.gradient = gradient
    return graph
''',
        # every gradient check has a node used twice, step 6's reused product too (a count of
        # calls, which this engine would pass, decides no points)
        expect={"step2_backward": 0, "step3_add_mul": 0, "step4_tensors": 0,
                "step5_higher_order": 0, "step6_matmul": 4}),
    "backward_forward_order": dict(
        code='''
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    for node in nodes:
        node.gradient = None
    graph.gradient = one
    for node in nodes:
        for input_node, gradient in zip(node.input_nodes, node.backward()):
            input_node.accumulate_gradient(gradient)
    return graph
''',
        expect={"step2_backward": 0, "step3_add_mul": 0, "step4_tensors": 0,
                "step5_higher_order": 0, "step6_matmul": 0}),
    "backward_recursive_double_counts": dict(
        # pushes a node's accumulated gradient down each time a path reaches it
        code='''
def backward_algorithm(graph, one=1.0):
    for node in graph.sorted_nodes():
        node.gradient = None
    def push(node, gradient):
        node.accumulate_gradient(gradient)
        for input_node, downstream in zip(node.input_nodes, node.backward()):
            push(input_node, downstream)
    push(graph, one)
    return graph
''',
        # it only goes wrong where an inner node is shared (leaves are harmless): the graphs
        # with the grader's own nodes share inner nodes in steps 4 and 6 too
        expect={"step2_backward": 2, "step3_add_mul": 2, "step4_tensors": 3,
                "step5_higher_order": 2.5, "step6_matmul": 4}),
    "backward_recursive_exponential": dict(
        # right values, one visit per path: only the call count can tell
        code='''
def backward_algorithm(graph, one=1.0):
    for node in graph.sorted_nodes():
        node.gradient = None
    def push(node, gradient):
        node.accumulate_gradient(gradient)
        total, node.gradient = node.gradient, gradient
        downstream = node.backward()
        node.gradient = total
        for input_node, g in zip(node.input_nodes, downstream):
            push(input_node, g)
    push(graph, one)
    return graph
''',
        # (and step 3 checks that its tanh graph is visited once per node)
        expect={"step2_backward": 4, "step3_add_mul": 4}),
    "backward_starts_from_float_one": dict(
        # ignores `one`: Matsum cannot expand a float, so no tensor graph works
        code='''
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    for node in nodes:
        node.gradient = None
    graph.gradient = 1.0
    for node in reversed(nodes):
        for input_node, gradient in zip(node.input_nodes, node.backward()):
            input_node.accumulate_gradient(gradient)
    return graph
''',
        expect={"step4_tensors": 0, "step5_higher_order": 0, "step6_matmul": 0}),
    "backward_starts_from_tensor_one": dict(
        # ignores `one` but starts from a tensor: right until someone passes another `one`
        code='''
import torch

def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    for node in nodes:
        node.gradient = None
    graph.gradient = torch.tensor(1.0)
    for node in reversed(nodes):
        for input_node, gradient in zip(node.input_nodes, node.backward()):
            input_node.accumulate_gradient(gradient)
    return graph
''',
        # step 4's checks of `one` (public and hidden) fail; higher derivatives and step 6 pass
        # `one` = 1, which it happens to start from
        expect={"step4_tensors": 3.5}),
    "backward_never_resets": dict(
        # only the extra-credit step repeats a backward pass on one graph
        code='''
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    graph.accumulate_gradient(one)
    for node in reversed(nodes):
        for input_node, gradient in zip(node.input_nodes, node.backward()):
            input_node.accumulate_gradient(gradient)
    return graph
''',
        expect={"step5_higher_order": 0}),
    "backward_first_input_only": dict(
        code='''
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    for node in nodes:
        node.gradient = None
    graph.gradient = one
    for node in reversed(nodes):
        gradients = node.backward()
        if node.input_nodes:
            node.input_nodes[0].accumulate_gradient(gradients[0])
    return graph
''',
        # each node still runs backward exactly once, which earns nothing on its own
        expect={"step2_backward": 0, "step3_add_mul": 0, "step4_tensors": 0,
                "step5_higher_order": 0, "step6_matmul": 0}),
    # ---- Mul and Add ----
    "mul_gradients_not_swapped": dict(
        code='''
class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [self.gradient * self.input(0), self.gradient * self.input(1)]
''',
        expect={"step3_add_mul": 0, "step4_tensors": 0, "step5_higher_order": 0}),
    "mul_one_gradient": dict(
        code='''
class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [self.gradient * self.input(1)]
''',
        expect={"step3_add_mul": 0, "step4_tensors": 0, "step5_higher_order": 0}),
    "add_one_gradient": dict(
        code='''
class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [self.gradient]
''',
        # in step 6 the homework's visible A @ B - C and one hidden sum of two losses use Add
        expect={"step3_add_mul": 0, "step4_tensors": 0, "step5_higher_order": 0,
                "step6_matmul": 3.5}),
    "add_subtracts_in_backward": dict(
        code='''
class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [self.gradient, -self.gradient]
''',
        expect={"step3_add_mul": 0, "step4_tensors": 0, "step5_higher_order": 0,
                "step6_matmul": 3.5}),
    # ---- Matmul ----
    "matmul_no_transposes": dict(
        code='''
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [self.gradient @ self.input(1), self.input(0) @ self.gradient]
''',
        expect={"step6_matmul": 0}),
    "matmul_missing_transpose_on_a": dict(
        code='''
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [self.gradient @ self.input(1).T, self.input(0) @ self.gradient]
''',
        expect={"step6_matmul": 0}),
    "matmul_operands_in_wrong_order": dict(
        code='''
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [self.input(1).T @ self.gradient, self.gradient @ self.input(0).T]
''',
        expect={"step6_matmul": 0}),
    "matmul_elementwise": dict(
        code='''
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [self.gradient * self.input(1), self.gradient * self.input(0)]
''',
        expect={"step6_matmul": 0}),
    "matmul_gradients_swapped": dict(
        code='''
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [self.input(0).T @ self.gradient, self.gradient @ self.input(1).T]
''',
        expect={"step6_matmul": 0}),
    # ---- tuned to the visible cells ----
    "hardcoded_visible_outputs": dict(
        code='''
def forward_algorithm(graph):
    graph.result = 1.25
    return graph

def backward_algorithm(graph, one=1.0):
    for node in graph.sorted_nodes():
        if isinstance(node, Leaf):
            node.gradient = 0.75
    return graph
''',
        # the visible cosh value passes; every gradient check has a graph of its own as well
        expect={"step1_forward": 1, "step2_backward": 0, "step3_add_mul": 0,
                "step4_tensors": 0, "step5_higher_order": 0, "step6_matmul": 0}),
    "torch_autograd_instead_of_backprop": dict(
        # right leaf gradients from torch, but no gradient on any inner node
        code='''
import torch

def forward_algorithm(graph):
    for node in graph.sorted_nodes():
        if isinstance(node, Leaf):
            value = node.value
            value = value.detach().clone() if torch.is_tensor(value) else torch.tensor(float(value), dtype=torch.float64)
            node.result = value.requires_grad_(True)
        else:
            node.forward()
    return graph

def backward_algorithm(graph, one=1.0):
    leaves = [node for node in graph.sorted_nodes() if isinstance(node, Leaf)]
    for leaf in leaves:
        leaf.result.grad = None
    with torch.enable_grad():
        graph.result.backward(torch.as_tensor(one, dtype=graph.result.dtype))
    for leaf in leaves:
        leaf.gradient = leaf.result.grad
    return graph
''',
        # torch's autograd is switched off while grading: every step that calls it scores
        # zero, and so does step 1, whose forward marks leaves requires_grad
        expect={"step1_forward": 0, "step2_backward": 0, "step3_add_mul": 0, "step4_tensors": 0,
                "step5_higher_order": 0, "step6_matmul": 0}),
}

# Correct engines written in other styles: all must keep full marks. A value is the # MAIN CODE
# cell, or a list of cells placed where the # MAIN CODE cell was.
CORRECT = {
    "own_dfs_t_reset_to_zero": '''# MAIN CODE
class Mul(ComputationNode):
    def forward(self):
        a, b = self.input(0), self.input(1)
        self.result = a * b
    def backward(self):
        a, b = self.input(0), self.input(1)
        return [b * self.gradient, a * self.gradient]

class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [self.gradient, self.gradient]

class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        a, b = self.input(0), self.input(1)
        return [self.gradient @ b.t(), a.t() @ self.gradient]

def topological_order(graph):
    order, visited = [], set()
    def visit(node):
        if id(node) in visited:
            return
        visited.add(id(node))
        for child in node.input_nodes:
            visit(child)
        order.append(node)
    visit(graph)
    return order

def forward_algorithm(graph):
    for node in topological_order(graph):
        node.forward()
    return graph

def backward_algorithm(graph, one=1.0):
    order = topological_order(graph)
    for node in order:
        node.gradient = 0
    graph.gradient = one
    for node in reversed(order):
        for child, g in zip(node.input_nodes, node.backward()):
            child.gradient = child.gradient + g
    return graph
''',
    "kahn_transpose_skip_none_returns_none": '''# MAIN CODE
from collections import deque

class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [self.gradient * self.input(1), self.gradient * self.input(0)]

class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        g = self.gradient
        return [g, g]

class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [self.gradient @ self.input(1).transpose(0, 1),
                self.input(0).transpose(0, 1) @ self.gradient]

def kahn_order(graph):
    """Inputs before outputs, by Kahn's algorithm on the reversed edges."""
    users, pending, stack, seen = {}, {}, [graph], {graph}
    while stack:
        node = stack.pop()
        pending[node] = len(node.input_nodes)
        for child in node.input_nodes:
            users.setdefault(child, []).append(node)
            if child not in seen:
                seen.add(child)
                stack.append(child)
    ready = deque(node for node, count in pending.items() if count == 0)
    order = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for user in users.get(node, []):
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    return order

def forward_algorithm(graph):
    for node in kahn_order(graph):
        node.forward()

def backward_algorithm(graph, one=1.0):
    order = kahn_order(graph)
    for node in order:
        node.gradient = None
    graph.gradient = one
    for node in reversed(order):
        if node.gradient is None:
            continue
        for child, g in zip(node.input_nodes, node.backward()):
            child.accumulate_gradient(g)
''',
    "micrograd_style": '''# MAIN CODE
class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        x, y = self.input(0), self.input(1)
        return [y * self.gradient, x * self.gradient]

class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [self.gradient] * 2

class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        g, a, b = self.gradient, self.input(0), self.input(1)
        return [(b @ g.T).T, (g.T @ a).T]

def build_topo(node, topo, visited):
    if node not in visited:
        visited.add(node)
        for child in node.input_nodes:
            build_topo(child, topo, visited)
        topo.append(node)
    return topo

def forward_algorithm(graph):
    for node in build_topo(graph, [], set()):
        node.forward()
    return None

def backward_algorithm(graph, one=1.0):
    topo = build_topo(graph, [], set())
    for node in topo:
        node.gradient = None
    graph.accumulate_gradient(one)
    for node in reversed(topo):
        downstream = node.backward()
        assert len(downstream) == len(node.input_nodes)
        for child, g in zip(node.input_nodes, downstream):
            child.accumulate_gradient(g)
    return topo
''',
}

CORRECT["iterative_dfs_gradient_table"] = '''# MAIN CODE
import torch

class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [self.gradient * self.input(1), self.gradient * self.input(0)]

class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [self.gradient, self.gradient]

class Matmul(ComputationNode):
    def forward(self):
        self.result = torch.matmul(self.input(0), self.input(1))
    def backward(self):
        return [torch.matmul(self.gradient, self.input(1).mT),
                torch.matmul(self.input(0).mT, self.gradient)]

def postorder(graph):
    order, done, stack = [], set(), [(graph, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if expanded:
            done.add(node)
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node.input_nodes if child not in done)
    return order

def forward_algorithm(graph):
    for node in postorder(graph):
        node.forward()
    return graph.result

def backward_algorithm(graph, one=1.0):
    order = postorder(graph)
    table = {graph: one}
    for node in reversed(order):
        node.gradient = table.get(node)
        if node.gradient is None:
            continue
        for child, g in zip(node.input_nodes, node.backward()):
            table[child] = g if child not in table else table[child] + g
    return graph
'''

# The two algorithms over a topological sort `ordered` the student wrote elsewhere.
ALGORITHMS_USING_ORDERED = '''
def forward_algorithm(graph):
    for node in ordered(graph):
        node.forward()
    return graph

def backward_algorithm(graph, one=1.0):
    nodes = ordered(graph)
    for node in nodes:
        node.gradient = None
    graph.gradient = one
    for node in nodes[::-1]:
        for child, g in zip(node.input_nodes, node.backward()):
            child.accumulate_gradient(g)
    return graph
'''

# A correct engine whose topological sort lives in a cell of its own, after the main cell.
_HELPER_MAIN = '''# MAIN CODE
class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [self.gradient * self.input(1), self.gradient * self.input(0)]
class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [self.gradient, self.gradient]
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [(self.input(1) @ self.gradient.T).T, (self.gradient.T @ self.input(0)).T]
''' + ALGORITHMS_USING_ORDERED
CORRECT["helper_in_own_cell_transposed_products"] = [_HELPER_MAIN, '''def ordered(graph):
    return graph.sorted_nodes()
''']
