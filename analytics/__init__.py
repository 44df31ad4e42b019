"""Analytics over what the assistant and the mall recorded."""
