"""`grasp-planner hand --png` draws the hand open and closed on a box."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import pytest  # noqa: E402

from grasp_planner.cli import main  # noqa: E402


def test_hand_command_writes_a_two_panel_picture(tmp_path, capsys):
    out = tmp_path / "hand.png"
    assert main(["hand", "--png", str(out)]) == 0
    image = mpimg.imread(out)
    assert image.shape[1] > 1.5 * image.shape[0]  # two panels side by side
    assert image[..., :3].std() > 0.05  # something was drawn
    printed = capsys.readouterr().out
    assert "finger_a_joint_1=" in printed


def test_hand_command_rejects_a_flat_box(tmp_path):
    with pytest.raises(ValueError, match="box size"):
        main(["hand", "--png", str(tmp_path / "x.png"), "--box", "0.05", "0", "0.05"])
