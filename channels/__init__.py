"""Rasa input/output channels: web widget, WeChat, REST with a token, the human-handoff bridge."""

from security.logs import install_log_masking

# The Rasa server imports this package when it loads the channels of credentials.yml, before
# the first message: from then on its log lines (Rasa's own included) mask personal data.
install_log_masking()
