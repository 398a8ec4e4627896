"""The mix-in CNN: features, model, training, evaluation and ONNX export."""
