"""The heads that `make demo` and `make ablations` train, by name: `--sim_header` and DLLFA's ablation flags.

One mapping for scripts/demo.sh (which asks for a name's flags) and the demo report (which
labels its rows with them):

    python -m scripts.demo_heads dllfa_frame     # prints: --sim_header dllfa --dllfa_levels frame
"""
import sys

DEMO_HEADS = {
    "meanP": ("--sim_header", "meanP"),
    "seqTransf": ("--sim_header", "seqTransf"),
    "xpool": ("--sim_header", "xpool"),
    "dllfa": ("--sim_header", "dllfa"),
    "dllfa_no_temporal": ("--sim_header", "dllfa", "--dllfa_no_temporal"),
    "dllfa_frame": ("--sim_header", "dllfa", "--dllfa_levels", "frame"),
    "dllfa_token": ("--sim_header", "dllfa", "--dllfa_levels", "token"),
    "dllfa_token_plain": ("--sim_header", "dllfa", "--dllfa_token_frames", "plain"),
    "dllfa_fixed_fusion": ("--sim_header", "dllfa", "--dllfa_fusion", "0.5"),
    "dllfa_shared_order": ("--sim_header", "dllfa", "--dllfa_order_fusion", "shared"),
    "dllfa_token_loss": ("--sim_header", "dllfa", "--dllfa_token_loss"),
}


def main(argv=None) -> int:
    names = sys.argv[1:] if argv is None else argv
    if len(names) != 1 or names[0] not in DEMO_HEADS:
        print(f"error: give one head name: {', '.join(DEMO_HEADS)} (got {' '.join(names) or 'none'})", file=sys.stderr)
        return 2
    print(" ".join(DEMO_HEADS[names[0]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
