"""The mix-in CNN (torch): model, training, evaluation and ONNX export.

What the planner shares with it (features, model card, view turns) is grasp_planner.contract.
"""
