"""The mix-in CNN: model, training, evaluation and ONNX export (torch). What the planner shares with it is grasp_planner.contract."""
