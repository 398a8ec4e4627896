"""Shipped data files are found through one resolver, in a checkout as after an install."""
from pathlib import Path

import pytest

from grasp_planner import resources


@pytest.mark.parametrize("kind, name", [("config", "planner.yaml"), ("config", "sim.yaml"),
                                        ("config", "dataset_standard.yaml"), ("models", "grasp_cnn.json")])
def test_shipped_files_resolve_to_existing_paths(kind, name):
    assert resources.resource_path(kind, name).is_file()


def test_a_missing_file_names_every_place_looked():
    with pytest.raises(FileNotFoundError) as err:
        resources.resource_path("config", "no_such.yaml")
    for candidate in resources.resource_candidates("config", "no_such.yaml"):
        assert str(candidate) in str(err.value)


def test_an_installed_share_directory_is_searched_after_the_checkout(tmp_path, monkeypatch):
    """Where no checkout holds the file, the pip/colcon share directory (sys.prefix/share/grasp_planner) does."""
    monkeypatch.setattr(resources, "CHECKOUT_ROOT", tmp_path / "not_a_checkout")
    monkeypatch.setattr(resources.sys, "prefix", str(tmp_path))
    installed = tmp_path / "share" / "grasp_planner" / "config" / "planner.yaml"
    installed.parent.mkdir(parents=True)
    installed.write_text("planner: {}\n")
    assert resources.resource_path("config", "planner.yaml") == installed


def test_one_code_version_names_the_package_version_and_the_checkout():
    import grasp_planner
    from grasp_planner.version import code_version

    version = code_version()
    assert version.startswith(grasp_planner.__version__)
    if (Path(grasp_planner.__file__).resolve().parent.parent / ".git").exists():
        assert "+" in version and len(version.split("+", 1)[1]) >= 7
