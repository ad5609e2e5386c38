"""Feedback on grading: the tables, results and pictures that students and course staff read."""
