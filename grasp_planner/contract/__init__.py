"""The network's contract: what training (learning/) and the run-time side (planning/, perception/, ros/) share.

Depth normalisation and pose features (features.py), the model card (model_card.py), the views of
the square image (quarter_turns.py) and opening the exported ONNX files (onnx_models.py). numpy and
onnxruntime only, never torch, so the node imports this and not grasp_planner.learning (a test
enforces it: test/test_contract_boundary.py).
"""
