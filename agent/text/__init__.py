"""Rules about text: what a citation is, which URL may be a link, what is code."""
