"""Records of what happened: a conversation's turns (``conversation``), from which the chat, the
model's memory, reports and exports are built."""
