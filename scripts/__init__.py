"""Command-line tools: catalogue NLU files, real-chat evaluation, pipeline comparison, demo."""
