"""Tuning thresholds from evidence: the pure judgement (judge.py) and the evidence it is
given, gathered from the database and the frame store (evidence.py)."""
