"""From a real depth camera to the network's view: table plane, clusters, virtual top-down view."""
