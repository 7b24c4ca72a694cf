"""What a run leaves behind: a conversation's turns (``conversation``), from which the chat, the
model's memory, reports and exports are built; the trace of each run, a replay of it, reports made
from it."""
