"""The evidence file, the contract between collect and report: stream, merge, baseline, history."""
