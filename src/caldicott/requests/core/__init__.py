"""The pure core of trace requests: the state machine and the minimal release."""
