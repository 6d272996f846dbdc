"""torchrun worker of bench/gpu_check.py: the training step of each recipe of `--runs`, timed by
bench/train_step.measure (data / forward + backward / optimizer, peak memory, MFU) on the data that
bench/gpu_check.py prepared; the first process writes the list of results to `--output`.

    torchrun --nproc_per_node P -m bench.gpu_check_steps --runs clip4clip:fp32,adamw:bf16 \
        --data_path ANNOTATIONS --features_path FRAMES --output steps.json [bench/train_step.py's options]
"""
import argparse

from bench.train_step import add_options, measure
from driver.process_group import init_distributed
from driver.run_files import write_json


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser)
    parser.add_argument("--runs", required=True, help="comma list of optimizer:precision (main_task_retrieval's flags)")
    parser.add_argument("--data_path", required=True, help="annotations of a synthetic MSR-VTT-format dataset")
    parser.add_argument("--features_path", required=True, help="its extracted frames")
    parser.add_argument("--output", required=True, help="JSON file, written by the first process")
    options = parser.parse_args(argv)
    ctx = init_distributed(options.device)
    results = []
    for run in options.runs.split(","):
        optimizer, precision = run.split(":")
        settings = argparse.Namespace(**vars(options), optimizer=optimizer, precision=precision)
        results.append(measure(settings, ctx, options.data_path, options.features_path))
    if ctx.is_main:
        write_json(options.output, results)


if __name__ == "__main__":
    main()
