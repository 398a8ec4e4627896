"""Objects, depth-image synthesis, dataset shards and the generation driver."""
