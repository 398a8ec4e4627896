#!/usr/bin/env bash
# Build the grasp_planner_interfaces rosidl package from the PyPI ROS 2 wheels.
#   usage: bash scripts/build_interfaces.sh VENV PREFIX
# Applies the two fixes of docs/ros.md (wheel-builder include paths; AMENT_PREFIX_PATH), then
# cmake configure/build/install into PREFIX. Skips the build when PREFIX is newer than every
# interface file. On a robot use colcon instead (docs/ros.md).
set -euo pipefail

VENV=${1:?usage: build_interfaces.sh VENV PREFIX}
PREFIX=${2:?usage: build_interfaces.sh VENV PREFIX}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/interfaces/grasp_planner_interfaces
VENV=$(cd "$VENV" && pwd)
mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
STAMP=$PREFIX/.grasp_planner_interfaces.stamp
BUILD=$ROOT/build/grasp_planner_interfaces
mkdir -p "$ROOT/build"

if [[ -f $STAMP && -z $(find "$SRC" -newer "$STAMP" -type f) ]]; then
    echo "grasp_planner_interfaces: up to date in $PREFIX"
    exit 0
fi

# Fix 1: the wheels' exported CMake targets name the wheel builder's Python and numpy headers.
PY_INC=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
NP_INC=$("$VENV/bin/python" -c "import numpy; print(numpy.get_include())")
mapfile -t STALE < <(grep -rlE --include='*.cmake' '/opt/python/cp3[0-9]+-cp3[0-9]+/' "$VENV/share" || true)
if (( ${#STALE[@]} )); then
    echo "grasp_planner_interfaces: fixing include paths in ${#STALE[@]} cmake files"
    sed -i -E \
        -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${NP_INC}#g" \
        -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${PY_INC}#g" \
        "${STALE[@]}"
fi

# Fix 2: typesupport discovery reads the ament index.
export AMENT_PREFIX_PATH=$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}
export PATH=$VENV/bin:$PATH

cmake -S "$SRC" -B "$BUILD" -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
      -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > "$BUILD.log" 2>&1 \
    || { cat "$BUILD.log"; exit 1; }
cmake --build "$BUILD" -j2 >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
cmake --install "$BUILD" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
touch "$STAMP"
echo "grasp_planner_interfaces: installed into $PREFIX (log: $BUILD.log)"
