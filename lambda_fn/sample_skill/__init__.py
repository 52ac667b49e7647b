"""A small but real ASK SDK skill with the recorder installed exactly as a skill developer would."""
