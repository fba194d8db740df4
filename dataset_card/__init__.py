"""The dataset card: statistics computed from the built data, rendered into the Hub README."""
