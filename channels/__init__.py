"""Rasa input/output channels: web widget, WeChat, REST with a token, the human-handoff bridge."""

from channels import graph_runner, remote_action, turns
from channels.settings import channel_settings
from security.logs import install_log_masking

# The Rasa server imports this package when it loads the channels of credentials.yml or the
# tracker store of endpoints.yml, before the first message: from then on its log lines
# (Rasa's own included) mask personal data, and the action server's answers are checked
# with one validator instead of Rasa re-checking its schema on every action, and the model's
# graph runs in a plan made once instead of a dask graph built per call; customer messages
# are worked on CONCURRENT_TURNS at a time, the rest in order of arrival (channels/turns.py).
install_log_masking()
remote_action.install()
graph_runner.install()
turns.install(channel_settings().concurrent_turns)
