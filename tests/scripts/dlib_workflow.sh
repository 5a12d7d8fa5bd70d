#!/usr/bin/env bash
# disentanglement_lib's README workflow with dlib's own commands and flags, run by infofrag
# (bin/ on PATH): train -> postprocess (mean, sampled) -> evaluate (MIG) -> aggregate ->
# visualize, on a tiny model (an MLP beta-VAE on synthetic_dsprites_32, 4 steps).
#
#   PATH=$PWD/bin:$PATH bash tests/scripts/dlib_workflow.sh OUTPUT
set -euo pipefail
OUT=${1:?usage: dlib_workflow.sh OUTPUT_FOLDER}
GIN=${GIN_CONFIGS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/gin_configs}

dlib_train --gin_config="$GIN/quick32/vae.gin" --model_dir="$OUT/0/model" \
  --gin_bindings="model.training_steps = 4" --gin_bindings="model.batch_size = 8" \
  --gin_bindings="model.eval_steps = 1" --gin_bindings="mlp_encoder.hidden_units = (16,)" \
  --gin_bindings="mlp_decoder.hidden_units = (16,)"

for representation in mean sampled; do
  dlib_postprocess --model_dir="$OUT/0/model" \
    --output_dir="$OUT/0/postprocessed/$representation" \
    --gin_config="$GIN/postprocess/$representation.gin"
  dlib_evaluate --input_dir="$OUT/0/postprocessed/$representation" \
    --output_dir="$OUT/0/metrics/$representation/mig" \
    --gin_config="$GIN/evaluate/mig.gin" --gin_bindings="mig.num_train = 200"
done

dlib_aggregate_results --output_path="$OUT/results.json" \
  --result_file_pattern="$OUT/*/metrics/*/*/results/aggregate/evaluation.json"

dlib_visualize_model --model_dir="$OUT/0/model" --output_dir="$OUT/0/visualizations"
