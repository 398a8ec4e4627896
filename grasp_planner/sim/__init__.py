"""Klamp't grasp labelling: qualified poses, closing on a free-floating object, shakes."""
