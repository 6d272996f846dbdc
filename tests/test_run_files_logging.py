"""log.txt holds every warning the user sees: the project's module loggers (skipped videos,
unreadable frames), forked DataLoader workers, other libraries' warnings, Python warnings."""
import logging
import multiprocessing
import warnings

from driver.run_files import setup_logging


def warn_from_a_worker():
    logging.getLogger("dataloaders.video_source").warning("msrvtt video7: frame 3 is unreadable (from a worker)")


def test_warnings_of_every_logger_and_of_forked_workers_reach_log_txt(tmp_path, capsys):
    # An earlier run in this test process captured warnings, and pytest has since restored
    # warnings.showwarning behind logging's back: un-capture so that setup_logging captures anew.
    logging.captureWarnings(False)
    setup_logging(str(tmp_path), is_main=True)
    setup_logging(str(tmp_path), is_main=True)  # a second run in the same process replaces the handlers
    logging.getLogger("dllfa").info("training 22 pairs")
    logging.getLogger("dataloaders.video_source").warning("msrvtt test: 1 of 6 videos have no frames")
    logging.getLogger("dataloaders.registry").info("a project info line")
    logging.getLogger("some_library").info("library chatter")
    logging.getLogger("some_library").warning("library warning")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a python warning")
    worker = multiprocessing.get_context("fork").Process(target=warn_from_a_worker)
    worker.start()
    worker.join()
    log = (tmp_path / "log.txt").read_text()
    for text in ("training 22 pairs", "warning: msrvtt test: 1 of 6 videos have no frames", "a project info line",
                 "warning: library warning", "UserWarning: a python warning",
                 "warning: msrvtt video7: frame 3 is unreadable (from a worker)"):
        assert log.count(text) == 1, text
    assert "library chatter" not in log
    out = capsys.readouterr().out
    assert "warning: msrvtt test: 1 of 6 videos have no frames" in out and "training 22 pairs" in out


def test_other_ranks_print_warnings_only_and_write_no_log(tmp_path, capsys):
    setup_logging(str(tmp_path), is_main=False)
    logging.getLogger("dllfa").info("rank 1 info")
    logging.getLogger("dataloaders.video_source").warning("rank 1 warning")
    out = capsys.readouterr().out
    assert "rank 1 info" not in out and "warning: rank 1 warning" in out
    assert not (tmp_path / "log.txt").exists()
