"""Answer quality: ``python -m agent.eval DATASET --out DIR`` asks every question of a QA
dataset through the engine and scores the answers as HotpotQA and Search-R1 do."""
