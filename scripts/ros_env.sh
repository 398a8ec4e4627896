# Source me: put the PyPI ROS 2 prefix (VENV) and the built interface package (PREFIX) on the paths.
#   usage: source scripts/ros_env.sh VENV PREFIX
_gp_venv=$(cd "${1:?usage: source ros_env.sh VENV PREFIX}" && pwd)
_gp_prefix=$(cd "${2:?usage: source ros_env.sh VENV PREFIX}" && pwd)
_gp_pyver=$("$_gp_venv/bin/python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
export AMENT_PREFIX_PATH="$_gp_prefix:$_gp_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export PYTHONPATH="$_gp_prefix/lib/$_gp_pyver/site-packages${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$_gp_prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset _gp_venv _gp_prefix _gp_pyver
