"""Small networks the tests share, named for what they show."""

TINY_RESNET = """name: tiny_resnet
input: images
layers:
  - {name: conv1, op: conv, kernel: 7, stride: 2, padding: 3, inputs: [images]}
  - {name: pool1, op: pool, kernel: 3, stride: 2, padding: same}
  - {name: shortcut, op: conv, kernel: 1, stride: 2, inputs: [pool1]}
  - {name: branch, op: conv, kernel: 3, stride: 2, padding: 1, inputs: [pool1]}
  - {name: block1, op: add, inputs: [shortcut, branch]}
"""
# the strided branch loses its padding: the centres differ at block1 on both axes
MISALIGNED_BY_PADDING = TINY_RESNET.replace("padding: 1, inputs: [pool1]", "padding: 0, inputs: [pool1]")

# issue 10: two inputs padded on opposite corners, added; a feature reads only padding through one of
# them along one axis, so the add's boxes are no product of per-axis ones
OPPOSITE_CORNERS = """
align: none
layers:
  - {name: a, op: pad, padding: [[0, 2], [2, 0]]}
  - {name: b, op: pad, padding: [[2, 0], [0, 2]], inputs: [input]}
  - {name: add, op: add, inputs: [a, b]}
"""
