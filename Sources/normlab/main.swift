import Engine
print(try Tensor.arange(0, 6).reshaped([2, 3]))
