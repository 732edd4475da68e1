#!/usr/bin/env bash
# Re-run every archsim command whose output the README quotes, from the committed workloads and configs.
# Run it after a change to the simulator, the hwconfigs or the energy tables, then update the README's
# figures from what it wrote (each output names its command). About 20 minutes on 2 cores.
#
#   bash benchmarks/regenerate_results.sh            # everything
#   bash benchmarks/regenerate_results.sh runs       # one group: runs | sweeps | studies | validation
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
what=${1:-all}

run() {   # run NAME ARGS...: results/archsim/NAME/ and the printed report in results/archsim/archsim_NAME.txt
  local name=$1; shift
  echo "== $name: archsim run $*"
  "$PY" -m archsim run "$@" --out "results/archsim/$name" > "results/archsim/archsim_$name.txt"
}

if [[ $what == all || $what == runs ]]; then
  run small_c10_adaptive hwconfigs/default.yaml workloads/small_c10.npz
  run small_c10_fixed hwconfigs/default.yaml workloads/small_c10.npz --exit-policy fixed
  run small_c10_quartz hwconfigs/default.yaml workloads/small_c10_quartz.npz
  if [[ -f workloads/small_c10_rate.npz ]]; then   # not committed (8 MB): the README's snn.convert makes it
    run small_c10_rate hwconfigs/default.yaml workloads/small_c10_rate.npz --exit-policy fixed
  fi
  run spikingjelly_c10 hwconfigs/default.yaml workloads/spikingjelly_c10.npz
  run snntorch_mlp_c10 hwconfigs/default.yaml workloads/snntorch_mlp_c10.npz
  if [[ -f workloads/vgg16_c10.npz ]]; then
    run vgg16_c10_adaptive hwconfigs/default.yaml workloads/vgg16_c10.npz
    run vgg16_c10_fixed hwconfigs/default.yaml workloads/vgg16_c10.npz --exit-policy fixed
  fi
fi

if [[ $what == all || $what == sweeps ]]; then
  for s in cores_x_clock exit_x_sram exit_x_sram_small_c10 leakage_sensitivity; do
    echo "== sweep $s"
    rm -rf "results/sweeps/$s"
    "$PY" -m archsim sweep "hwconfigs/sweeps/$s.yaml" --out "results/sweeps/$s" --workers 1
  done
  "$PY" -m archsim pareto results/sweeps/cores_x_clock --x "energy_j / seconds" --y fps \
      --color mapping.cores_total --plot results/sweeps/cores_x_clock/pareto_power_fps.png
  "$PY" -m archsim pareto results/sweeps/exit_x_sram --x area_proxy_sram_kib --y energy_per_image_j \
      --minimize area_proxy_sram_kib --minimize energy_per_image_j --plot results/sweeps/exit_x_sram/pareto_area_energy.png
fi

if [[ $what == all || $what == studies ]]; then
  vgg=workloads/synthetic_vgg16.npz
  [[ -f workloads/vgg16_c10.npz ]] && vgg=workloads/vgg16_c10.npz
  "$PY" benchmarks/accelerator_ablation.py --workload workloads/small_c10.npz --samples 10000 \
      --workload "$vgg" --samples 2000 --out results/accelerator_ablation
  "$PY" benchmarks/dataflow_per_layer.py --workload workloads/small_c10.npz --workload "$vgg" --samples 2000 \
      --out results/dataflow_per_layer
  "$PY" benchmarks/analytic_vs_simpy.py --workload workloads/small_c10.npz --samples 10000 \
      --workload workloads/synthetic_vgg16.npz --samples 1000 --workload "$vgg" --samples 2000 \
      --out results/analytic_vs_simpy.json
fi

if [[ $what == all || $what == validation ]]; then
  "$PY" -m archsim validate sanafe workloads/validation/conv_valid.yaml --samples 20 --timesteps 4 --rate 0.2 \
      --seed 0 --out results/validation/conv_valid
  "$PY" -m archsim validate sanafe workloads/validation/conv_pad_pool.yaml --samples 10 --rate 0.1 \
      --out results/validation/conv_pad_pool
  "$PY" -m archsim validate sanafe workloads/validation/small_c10_head.yaml \
      --spikes workloads/validation/small_c10_head_spikes.npz --out results/validation/small_c10_head
  # SANA-FE's DVS-gesture network as its authors run it (about 2 minutes and 5 GB of memory each)
  "$PY" workloads/validation/make_dvs_gesture.py
  "$PY" -m archsim validate sanafe workloads/validation/dvs_gesture.yaml --timesteps 32 \
      --out results/validation/dvs_gesture
  "$PY" benchmarks/validation_update_gap.py workloads/validation/dvs_gesture.yaml --timesteps 32 \
      --out results/validation/dvs_gesture/update_rule_gap.json
fi
