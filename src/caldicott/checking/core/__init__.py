"""The pure core of the checking channel: what is sent, what comes back, what it means."""
