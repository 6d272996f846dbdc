"""The driver behind `main_task_retrieval.py`: flags, model setup, training, evaluation, run files.

It uses `modules/` (the model) and `dataloaders/` (the data); nothing below imports it."""
