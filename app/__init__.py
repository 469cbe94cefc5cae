"""The govchat hub: composition, routes, conversation pipeline and officer queue."""
