"""The corpus stage: read articles, clean them, infer metadata, split sentences, find duplicates."""
