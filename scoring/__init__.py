"""Credit-risk scoring, pure: features from a profile, a calibrated monotone model trained on any loan table,
PD -> score and grade, reason codes, what would change the outcome, and model artefacts. No Flask, no database:
plain data in and out (see training.py for the model, scorecard.py for the scale and reasons)."""
