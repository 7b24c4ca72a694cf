"""The model on this machine (transformers): loading, sizing, generating, stopping."""
