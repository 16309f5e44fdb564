"""Training runs: the run directory, Keras callbacks, and the trainer that ties model, loss and data."""
