"""Grasp optimization: ONNX scoring, distance barrier, BFGS, multi-start, baselines."""
